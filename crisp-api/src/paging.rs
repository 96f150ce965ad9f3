//! Paging streams: the `stream()` of the list builders.
//!
//! Page-numbered routes walk `/{page_number}` from 1 until a page comes back shorter than the
//! page size, or empty; the messages route walks back in time by `timestamp_before`. Both keep
//! one page in memory and fetch the next only when the consumer asks for an item past it.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use crisp_api::{Client, Credentials};
//!
//! # async fn run(client: Client) -> Result<(), crisp_api::Error> {
//! let mut conversations = client
//!     .list_conversations()
//!     .website_id("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
//!     .filter_not_resolved(1)
//!     .stream();
//! while let Some(conversation) = conversations.try_next().await? {
//!     println!("{}", conversation.session_id);
//! }
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::num::NonZeroU32;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::Error;

/// Items that carry a Unix-millisecond timestamp, for walking back in time.
pub(crate) trait Timestamped {
    /// When it happened, if known.
    fn timestamp(&self) -> Option<i64>;
}

/// Walks a page-numbered list: `fetch(builder, page)` returns the items of one page.
pub(crate) fn by_page_number<'a, B, T, F, Fut>(
    builder: B,
    page_size: u32,
    fetch: F,
) -> BoxStream<'a, Result<T, Error>>
where
    B: Clone + Send + 'a,
    T: Send + 'a,
    F: Fn(B, NonZeroU32) -> Fut + Send + Sync + 'a,
    Fut: Future<Output = Result<Vec<T>, Error>> + Send + 'a,
{
    let page_size = page_size.max(1) as usize;
    stream::try_unfold(
        (Some(NonZeroU32::MIN), builder, fetch),
        move |(page, builder, fetch)| async move {
            let Some(page) = page else {
                return Ok(None);
            };
            let items = fetch(builder.clone(), page).await?;
            let next = if items.len() < page_size {
                None
            } else {
                page.checked_add(1)
            };
            Ok(Some((
                stream::iter(items.into_iter().map(Ok)),
                (next, builder, fetch),
            )))
        },
    )
    .try_flatten()
    .boxed()
}

/// Walks back in time: `fetch(builder, before)` returns one batch of items older than `before`
/// (the latest batch for `None`); items are yielded newest first.
pub(crate) fn by_timestamp<'a, B, T, F, Fut>(
    builder: B,
    fetch: F,
) -> BoxStream<'a, Result<T, Error>>
where
    B: Clone + Send + 'a,
    T: Timestamped + Send + 'a,
    F: Fn(B, Option<i64>) -> Fut + Send + Sync + 'a,
    Fut: Future<Output = Result<Vec<T>, Error>> + Send + 'a,
{
    stream::try_unfold(
        (Some(None), builder, fetch),
        move |(before, builder, fetch): (Option<Option<i64>>, B, F)| async move {
            let Some(before) = before else {
                return Ok(None);
            };
            let mut batch = fetch(builder.clone(), before).await?;
            if let Some(before) = before {
                // Only what is older than the cursor: a batch that ignores it ends the walk.
                batch.retain(|item| item.timestamp().is_none_or(|t| t < before));
            }
            batch.sort_by_key(|item| std::cmp::Reverse(item.timestamp()));
            let oldest = batch.iter().filter_map(Timestamped::timestamp).min();
            // An empty batch, or items without timestamps: the walk is over.
            let next = oldest.map(Some);
            Ok(Some((
                stream::iter(batch.into_iter().map(Ok)),
                (next, builder, fetch),
            )))
        },
    )
    .try_flatten()
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::executor::block_on;

    use super::*;
    use crate::operation::Operation;

    #[derive(Debug, PartialEq)]
    struct Item(i64);

    impl Timestamped for Item {
        fn timestamp(&self) -> Option<i64> {
            Some(self.0)
        }
    }

    #[test]
    fn pages_are_fetched_one_at_a_time_until_a_short_page() {
        let fetched = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&fetched);
        let stream = by_page_number((), 3, move |(), page| {
            let log = Arc::clone(&log);
            async move {
                log.lock().unwrap().push(page.get());
                let len = if page.get() < 3 { 3 } else { 1 };
                Ok((0..len).map(|i| page.get() * 10 + i).collect())
            }
        });
        let mut stream = stream;
        // Nothing is fetched before the first item is asked for.
        assert!(fetched.lock().unwrap().is_empty());
        let first = block_on(stream.next()).unwrap().unwrap();
        assert_eq!(first, 10);
        assert_eq!(*fetched.lock().unwrap(), [1]);
        let rest: Vec<u32> = block_on(stream.try_collect()).unwrap();
        assert_eq!(rest, [11, 12, 20, 21, 22, 30]);
        assert_eq!(*fetched.lock().unwrap(), [1, 2, 3]);
    }

    #[test]
    fn an_error_ends_the_stream() {
        let stream = by_page_number((), 2, |(), page| async move {
            if page.get() == 2 {
                Err(Error::NotConfirmed {
                    operation: &Operation::LIST_CONVERSATIONS,
                })
            } else {
                Ok(vec![1, 2])
            }
        });
        let items: Vec<_> = block_on(stream.collect());
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[1].is_ok());
        assert!(matches!(items[2], Err(Error::NotConfirmed { .. })));
    }

    #[test]
    fn timestamps_walk_back_newest_first() {
        let cursors = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&cursors);
        let stream = by_timestamp((), move |(), before| {
            log.lock().unwrap().push(before);
            async move {
                Ok(match before {
                    None => vec![Item(5), Item(6), Item(4)],
                    Some(4) => vec![Item(2), Item(3)],
                    Some(_) => vec![],
                })
            }
        });
        let items: Vec<Item> = block_on(stream.try_collect()).unwrap();
        assert_eq!(items, [Item(6), Item(5), Item(4), Item(3), Item(2)]);
        assert_eq!(*cursors.lock().unwrap(), [None, Some(4), Some(2)]);
    }

    #[test]
    fn a_walk_that_makes_no_progress_stops() {
        let stream = by_timestamp((), |(), _| async { Ok(vec![Item(9), Item(8)]) });
        let items: Vec<Item> = block_on(stream.try_collect()).unwrap();
        assert_eq!(items, [Item(9), Item(8)]);
    }
}
