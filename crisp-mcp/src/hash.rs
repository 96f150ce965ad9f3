//! SHA-256 digests and their comparison in constant time: the one place the server hashes a
//! secret (the bearer token, a confirmation token) or a request, and compares two digests.
//!
//! A leaf module: it imports nothing else of the crate.

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// A SHA-256 digest.
pub(crate) type Digest = [u8; 32];

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Digest {
    Sha256::digest(bytes).into()
}

/// Whether two digests are equal, in time that does not depend on where they differ.
pub(crate) fn same(a: &Digest, b: &Digest) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_answer_and_equality() {
        // printf abc | sha256sum
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same(&sha256(b"abc"), &sha256(b"abc")));
        let mut other = sha256(b"abc");
        other[31] ^= 1;
        assert!(!same(&sha256(b"abc"), &other));
    }
}
