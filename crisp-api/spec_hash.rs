// The hash that ties generated code to the spec it came from: FNV-1a, 64 bits, over the spec's
// bytes, written `fnv1a64:<16 hex digits>`. Standard library only. One implementation, used by
// crisp-api's build script (which compares it with the generated files' header) and by the
// xtask (which writes that header), so the two cannot disagree.

/// FNV-1a, 64 bits, over `bytes`, as `fnv1a64:<16 lower-case hex digits>`.
pub fn spec_hash(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("fnv1a64:{hash:016x}")
}
