//! The join of the generated route facts with crisp-api's operations table.

use crisp_api::Operation;

use crate::generated::routes::ROUTES;
use crate::route::Route;

/// Every operation of the spec, joined with its facts. An operation missing from either side
/// means crisp-api and the sandbox were generated from different specs; it is left out and
/// reported by the tests.
pub(crate) fn routes() -> Vec<Route> {
    Operation::ALL
        .iter()
        .filter_map(|op| {
            let facts = ROUTES.iter().find(|f| f.id == op.id)?;
            Some(Route { op, facts })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_of_the_spec_has_a_route() {
        assert_eq!(super::routes().len(), crisp_api::Operation::ALL.len());
    }
}
