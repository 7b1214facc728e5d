//! Argon2id v1.3 with one lane (RFC 9106) that fetches each block's reference block while the
//! block before it is still being computed. It serves our own parameters; every other hash goes
//! through the argon2 crate, which computes the same function.
//!
//! Why: two hashes at once need 2 × 19 MiB, more than the benchmark host's shared 32 MiB L3, so
//! most reference reads go to memory. In the crate the next reference is read only after the
//! whole block is done, and every miss stalls the core. Its index is known as soon as word 0 of the
//! new block is, about halfway through the compression, and prefetching it from there hides
//! most of the miss: in a login run, a hash next to another went from 1.18× to 1.02–1.05× of
//! one hash alone (`bench/RESULTS.md`, fifth round). Where the CPU has AVX-512, the passes run
//! in a version compiled for it (`Fill`). The output is the crate's, bit for bit.

use argon2::{Algorithm, Block, Params, Version};
use blake2::{
    Blake2b512, Blake2bVar,
    digest::{Digest, Update, VariableOutput},
};

/// Slices per pass (RFC 9106's synchronisation points).
const SLICES: usize = 4;
/// Pseudo-random references per address block (argon2i's part of argon2id).
const ADDRESSES_PER_BLOCK: usize = 128;
const MIN_SALT_LEN: usize = 8;
const MAX_SALT_LEN: usize = 64;

/// One 1 KiB block as the 128 little-endian words the compression works on.
type Words = [u64; 128];

/// Whether `hash_into` computes this hash: argon2id v1.3, one lane, no secret and no associated data.
pub fn supports(algorithm: Algorithm, version: Version, params: &Params) -> bool {
    algorithm == Algorithm::Argon2id && version == Version::V0x13 && params.p_cost() == 1 && params.data().is_empty()
}

/// argon2id of `password` and `salt` into `output`, in `memory` (at least `params.block_count()`
/// blocks). Fails as the argon2 crate does for a salt outside 8..=64 bytes, an output outside
/// 4..=2^32-1 bytes or too little memory, and for more than one lane or associated data.
pub fn hash_into(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    output: &mut [u8],
    memory: &mut [Block],
) -> Result<(), argon2::Error> {
    hash_into_with(Fill::best(), params, password, salt, output, memory)
}

/// `hash_into` with the passes run by `fill`.
fn hash_into_with(
    fill: Fill,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    output: &mut [u8],
    memory: &mut [Block],
) -> Result<(), argon2::Error> {
    if params.p_cost() != 1 {
        return Err(argon2::Error::ThreadsTooMany);
    }
    if !params.data().is_empty() {
        return Err(argon2::Error::AdTooLong);
    }
    if salt.len() < MIN_SALT_LEN {
        return Err(argon2::Error::SaltTooShort);
    }
    if salt.len() > MAX_SALT_LEN {
        return Err(argon2::Error::SaltTooLong);
    }
    if output.len() < Params::MIN_OUTPUT_LEN {
        return Err(argon2::Error::OutputTooShort);
    }
    let output_len = u32::try_from(output.len()).map_err(|_| argon2::Error::OutputTooLong)?;
    let password_len = u32::try_from(password.len()).map_err(|_| argon2::Error::PwdTooLong)?;
    let memory = memory.get_mut(..params.block_count()).ok_or(argon2::Error::MemoryTooLittle)?;

    let mut initial = Blake2b512::new();
    for field in [1, output_len, params.m_cost(), params.t_cost(), Version::V0x13 as u32, Algorithm::Argon2id as u32] {
        Digest::update(&mut initial, field.to_le_bytes());
    }
    Digest::update(&mut initial, password_len.to_le_bytes());
    Digest::update(&mut initial, password);
    // The salt's length fits in a u32: it was checked against MAX_SALT_LEN.
    Digest::update(&mut initial, (salt.len() as u32).to_le_bytes());
    Digest::update(&mut initial, salt);
    // No secret key and no associated data: two zero lengths.
    Digest::update(&mut initial, [0; 8]);
    let initial = initial.finalize();

    let mut bytes = [0u8; Block::SIZE];
    for (index, block) in memory[..2].iter_mut().enumerate() {
        // H'(H0 || block index || lane index), lane 0.
        long_hash(&[&initial, &(index as u32).to_le_bytes(), &0u32.to_le_bytes()], &mut bytes);
        for (word, chunk) in block.as_mut().iter_mut().zip(bytes.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        }
    }

    fill.run(memory, params.t_cost() as usize);

    let last = memory.last().expect("at least 8 blocks");
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(last.as_ref()) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    long_hash(&[&bytes], output);
    Ok(())
}

/// H', Argon2's variable-length hash: BLAKE2b up to 64 bytes, chained 32-byte halves beyond.
fn long_hash(inputs: &[&[u8]], output: &mut [u8]) {
    const HALF: usize = 32;
    let length = (output.len() as u32).to_le_bytes();
    if output.len() <= 64 {
        let mut digest = Blake2bVar::new(output.len()).expect("1..=64 bytes");
        Update::update(&mut digest, &length);
        inputs.iter().for_each(|input| Update::update(&mut digest, input));
        digest.finalize_variable(output).expect("the requested length");
        return;
    }
    let mut digest = Blake2b512::new();
    Digest::update(&mut digest, length);
    inputs.iter().for_each(|input| Digest::update(&mut digest, input));
    let mut last = digest.finalize();
    output[..HALF].copy_from_slice(&last[..HALF]);
    let mut written = HALF;
    while output.len() - written > 64 {
        last = Blake2b512::digest(last);
        output[written..written + HALF].copy_from_slice(&last[..HALF]);
        written += HALF;
    }
    let mut digest = Blake2bVar::new(output.len() - written).expect("33..=64 bytes");
    Update::update(&mut digest, &last);
    digest.finalize_variable(&mut output[written..]).expect("the requested length");
}

/// One compiled version of the passes. The code is the same in all of them; compiled for AVX2,
/// the compiler vectorises the compression's 64-bit lanes (as the argon2 crate does). Compiled
/// for AVX-512 it gets twice the lanes per register and a 64-bit rotate (`vprolq`), where AVX2
/// builds each of BLAKE2b's rotations from two shifts and an or: a hash took 24 % less time than
/// with AVX2 on the benchmark's Xeon (`bench/RESULTS.md`, sixth round).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fill {
    Avx512,
    Avx2,
    Portable,
}

impl Fill {
    /// Fastest first.
    const ALL: [Fill; 3] = [Fill::Avx512, Fill::Avx2, Fill::Portable];

    /// Whether this CPU can run this version.
    fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Fill::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(target_arch = "x86_64")]
            Fill::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Fill::Avx512 | Fill::Avx2 => false,
            Fill::Portable => true,
        }
    }

    /// The fastest version this CPU runs.
    fn best() -> Fill {
        Fill::ALL.into_iter().find(|fill| fill.is_available()).unwrap_or(Fill::Portable)
    }

    /// Runs the passes over `memory`, whose first two blocks are set.
    fn run(self, memory: &mut [Block], passes: usize) {
        match self {
            // SAFETY: the CPU was just seen to support AVX-512F and AVX-512VL.
            #[cfg(target_arch = "x86_64")]
            Fill::Avx512 if self.is_available() => unsafe { fill_avx512(memory, passes) },
            // SAFETY: the CPU was just seen to support AVX2.
            #[cfg(target_arch = "x86_64")]
            Fill::Avx2 if self.is_available() => unsafe { fill_avx2(memory, passes) },
            _ => fill_portable(memory, passes),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
fn fill_avx512(memory: &mut [Block], passes: usize) {
    fill_portable(memory, passes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fill_avx2(memory: &mut [Block], passes: usize) {
    fill_portable(memory, passes);
}

/// Where a block sits: pass, slice and index inside the slice (its segment, with one lane).
#[derive(Clone, Copy)]
struct Position {
    pass: usize,
    slice: usize,
    index: usize,
}

/// The memory's shape: blocks per lane (all of them) and per segment.
#[derive(Clone, Copy)]
struct Shape {
    lane_length: usize,
    segment_length: usize,
}

impl Shape {
    /// RFC 9106 section 3.4.1.2: the block that `position` references, from its 64 random bits.
    #[inline(always)]
    fn reference(self, position: Position, random: u64) -> usize {
        let Position { pass, slice, index } = position;
        // Blocks it may reference: everything finished so far in this pass's earlier slices and
        // this segment, and in later passes the last three slices, less the block just before.
        let area = match (pass, slice) {
            (0, 0) => index - 1,
            (0, _) => slice * self.segment_length + index - 1,
            _ => self.lane_length - self.segment_length + index - 1,
        };
        let low = random & 0xFFFF_FFFF;
        let skew = (low * low) >> 32;
        let relative = area - 1 - ((area as u64 * skew) >> 32) as usize;
        let start = if pass != 0 && slice != SLICES - 1 { (slice + 1) * self.segment_length } else { 0 };
        (start + relative) % self.lane_length
    }
}

#[inline(always)]
fn fill_portable(memory: &mut [Block], passes: usize) {
    let shape = Shape { lane_length: memory.len(), segment_length: memory.len() / SLICES };
    let mut addresses: Words = [0; 128];
    let mut counter: Words = [0; 128];
    for pass in 0..passes {
        for slice in 0..SLICES {
            // argon2id takes its first half pass's references from a counter, not from the data.
            let data_independent = pass == 0 && slice < SLICES / 2;
            if data_independent {
                counter = [0; 128];
                counter[..6].copy_from_slice(&[
                    pass as u64,
                    0,
                    slice as u64,
                    shape.lane_length as u64,
                    passes as u64,
                    Algorithm::Argon2id as u64,
                ]);
            }
            let first = if pass == 0 && slice == 0 { 2 } else { 0 };
            if data_independent && first != 0 {
                next_addresses(&mut addresses, &mut counter);
            }
            for index in first..shape.segment_length {
                let current = slice * shape.segment_length + index;
                let previous = if current == 0 { shape.lane_length - 1 } else { current - 1 };
                let random = if data_independent {
                    if index.is_multiple_of(ADDRESSES_PER_BLOCK) {
                        next_addresses(&mut addresses, &mut counter);
                    }
                    addresses[index % ADDRESSES_PER_BLOCK]
                } else {
                    memory[previous].as_ref()[0]
                };
                let reference = shape.reference(Position { pass, slice, index }, random);
                let next = Position { pass, slice, index: index + 1 };
                let next_reference = match (index + 1 < shape.segment_length, data_independent) {
                    (false, _) => NextReference::Unknown,
                    (true, true) if !next.index.is_multiple_of(ADDRESSES_PER_BLOCK) => {
                        NextReference::Known(shape.reference(next, addresses[next.index % ADDRESSES_PER_BLOCK]))
                    }
                    (true, true) => NextReference::Unknown,
                    (true, false) => NextReference::FromWordZero(shape, next),
                };
                compute_block(memory, previous, reference, current, pass > 0, next_reference);
            }
        }
    }
}

/// The next block's reference, if it can be found before the current block is done.
#[derive(Clone, Copy)]
enum NextReference {
    Unknown,
    /// From the address block (the data-independent part).
    Known(usize),
    /// Derived from word 0 of the block being computed (the data-dependent part).
    FromWordZero(Shape, Position),
}

/// One block: `current` (xor-ed into, after the first pass) = G(`previous`, `reference`),
/// prefetching the next block's reference as soon as it is known.
#[inline(always)]
fn compute_block(
    memory: &mut [Block],
    previous: usize,
    reference: usize,
    current: usize,
    xor_into_current: bool,
    next: NextReference,
) {
    if let NextReference::Known(next) = next {
        prefetch(&memory[next]);
    }
    let mut r = *words(&memory[previous]);
    r.iter_mut().zip(words(&memory[reference])).for_each(|(r, reference)| *r ^= reference);
    let mut q = r;
    for row in 0..8 {
        permute_row(&mut q, row);
    }
    permute_column(&mut q, 0);
    if let NextReference::FromWordZero(shape, position) = next {
        // Column 0 is final: word 0 of the new block, and so the next reference, is known now.
        let old = if xor_into_current { memory[current].as_ref()[0] } else { 0 };
        prefetch(&memory[shape.reference(position, q[0] ^ r[0] ^ old)]);
    }
    for column in 1..8 {
        permute_column(&mut q, column);
    }
    let target: &mut Words = memory[current].as_mut().try_into().expect("a block is 128 words");
    if xor_into_current {
        target.iter_mut().zip(q.iter().zip(&r)).for_each(|(t, (q, r))| *t ^= q ^ r);
    } else {
        target.iter_mut().zip(q.iter().zip(&r)).for_each(|(t, (q, r))| *t = q ^ r);
    }
}

/// Fills the address block from the counter block: G(0, G(0, counter)) after a step of the counter.
fn next_addresses(addresses: &mut Words, counter: &mut Words) {
    counter[6] += 1;
    *addresses = compress_with_zero(counter);
    *addresses = compress_with_zero(addresses);
}

/// G(0, block).
fn compress_with_zero(block: &Words) -> Words {
    let mut q = *block;
    for row in 0..8 {
        permute_row(&mut q, row);
    }
    for column in 0..8 {
        permute_column(&mut q, column);
    }
    q.iter_mut().zip(block).for_each(|(q, r)| *q ^= r);
    q
}

fn words(block: &Block) -> &Words {
    block.as_ref().try_into().expect("a block is 128 words")
}

/// Asks the CPU to bring a block into cache; it never faults and changes nothing.
#[inline(always)]
fn prefetch(block: &Block) {
    #[cfg(target_arch = "x86_64")]
    for line in block.as_ref().chunks_exact(8) {
        // SAFETY: a prefetch only hints the cache; the address is inside a live block.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = block;
}

/// x + y + 2 · lo32(x) · lo32(y): BLAKE2b's addition with Argon2's multiplication (RFC 9106 3.6).
#[inline(always)]
fn add_mul(x: u64, y: u64) -> u64 {
    x.wrapping_add(y).wrapping_add(2u64.wrapping_mul((x & 0xFFFF_FFFF).wrapping_mul(y & 0xFFFF_FFFF)))
}

/// BLAKE2b's G with `add_mul`, on four words of `v` given by their indices.
macro_rules! mix {
    ($v:ident, $a:expr, $b:expr, $c:expr, $d:expr) => {
        $v[$a] = add_mul($v[$a], $v[$b]);
        $v[$d] = ($v[$d] ^ $v[$a]).rotate_right(32);
        $v[$c] = add_mul($v[$c], $v[$d]);
        $v[$b] = ($v[$b] ^ $v[$c]).rotate_right(24);
        $v[$a] = add_mul($v[$a], $v[$b]);
        $v[$d] = ($v[$d] ^ $v[$a]).rotate_right(16);
        $v[$c] = add_mul($v[$c], $v[$d]);
        $v[$b] = ($v[$b] ^ $v[$c]).rotate_right(63);
    };
}

/// The permutation P on sixteen words of `v`, `at(k)` being the index of the k-th.
macro_rules! permute {
    ($v:ident, $at:expr) => {
        let at = $at;
        mix!($v, at(0), at(4), at(8), at(12));
        mix!($v, at(1), at(5), at(9), at(13));
        mix!($v, at(2), at(6), at(10), at(14));
        mix!($v, at(3), at(7), at(11), at(15));
        mix!($v, at(0), at(5), at(10), at(15));
        mix!($v, at(1), at(6), at(11), at(12));
        mix!($v, at(2), at(7), at(8), at(13));
        mix!($v, at(3), at(4), at(9), at(14));
    };
}

/// P on row `row`: sixteen consecutive words.
#[inline(always)]
fn permute_row(v: &mut Words, row: usize) {
    permute!(v, |k: usize| row * 16 + k);
}

/// P on column `column`: two adjacent words from each row.
#[inline(always)]
fn permute_column(v: &mut Words, column: usize) {
    permute!(v, |k: usize| 2 * column + (k / 2) * 16 + k % 2);
}

#[cfg(test)]
mod tests {
    use argon2::Argon2;

    use super::*;

    fn ours(m_cost: u32, t_cost: u32, password: &[u8], salt: &[u8], length: usize) -> Vec<u8> {
        ours_with(Fill::best(), m_cost, t_cost, password, salt, length)
    }

    fn ours_with(fill: Fill, m_cost: u32, t_cost: u32, password: &[u8], salt: &[u8], length: usize) -> Vec<u8> {
        let params = Params::new(m_cost, t_cost, 1, Some(length)).unwrap();
        let mut memory = vec![Block::default(); params.block_count()];
        let mut output = vec![0u8; length];
        hash_into_with(fill, &params, password, salt, &mut output, &mut memory).unwrap();
        output
    }

    fn crates(m_cost: u32, t_cost: u32, password: &[u8], salt: &[u8], length: usize) -> Vec<u8> {
        let params = Params::new(m_cost, t_cost, 1, Some(length)).unwrap();
        let mut output = vec![0u8; length];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(password, salt, &mut output)
            .unwrap();
        output
    }

    #[test]
    fn matches_the_reference_implementation() {
        // Made by the reference C implementation (argon2-cffi's `hash_secret_raw`, type ID, p=1):
        // (m_cost, t_cost, password, salt, output in hex).
        type Vector = (u32, u32, &'static str, &'static str, &'static str);
        let vectors: [Vector; 3] = [
            (
                19_456,
                2,
                "Tashkent-2024!",
                "tantana-kat-salt",
                "2582de1ad69bb01b2c40b188e99a0c5cc847dda152d7c960758a6300b04a0efe",
            ),
            (8, 1, "", "saltsalt", "477bbdbc"),
            (
                1029,
                3,
                "päss",
                "0123456789abcdef0123",
                "d691e174eb1b2c6b4a072a060bba83bdd14646638a0541e00f8368729421aaf27e7df149a3e569c6041f61f7141328ce562345\
                 ac902cd8386a501ca48090a1a1cffc5ee8bee8ce04c30ff0f41d17185d68129a7f3beefd8b1c3eae530bd2ccbe0abb33d2",
            ),
        ];
        // Every compiled version this CPU runs, not only the one `hash_into` picks.
        let versions: Vec<Fill> = Fill::ALL.into_iter().filter(|fill| fill.is_available()).collect();
        assert_eq!(versions.last(), Some(&Fill::Portable));
        for fill in versions {
            for (m_cost, t_cost, password, salt, expected) in vectors {
                let output = ours_with(fill, m_cost, t_cost, password.as_bytes(), salt.as_bytes(), expected.len() / 2);
                assert_eq!(hex::encode(output), expected, "{fill:?}, m={m_cost}");
            }
        }
    }

    #[test]
    fn agrees_with_the_argon2_crate_across_parameters() {
        // Memory sizes around the slice and address-block boundaries, several passes, and
        // outputs on both sides of H''s 64-byte switch.
        let memories = [8, 9, 15, 16, 17, 511, 512, 513, 1024, 2049];
        for (case, m_cost) in memories.into_iter().enumerate() {
            let t_cost = 1 + (case % 4) as u32;
            let length = [4, 32, 64, 65, 96, 97, 128, 1024][case % 8];
            let password: Vec<u8> = (0..case * 7).map(|i| (i * 31 + case) as u8).collect();
            let salt: Vec<u8> = (0..8 + case * 5).map(|i| (i * 17 + 3) as u8).collect();
            assert_eq!(
                ours(m_cost, t_cost, &password, &salt, length),
                crates(m_cost, t_cost, &password, &salt, length),
                "m={m_cost} t={t_cost} length={length}"
            );
        }
    }

    #[test]
    fn refuses_what_the_crate_refuses_and_what_it_does_not_compute() {
        let params = Params::new(64, 1, 1, Some(32)).unwrap();
        let mut memory = vec![Block::default(); 64];
        let mut output = [0u8; 32];
        let mut run = |salt: &[u8], memory: &mut [Block]| hash_into(&params, b"pw", salt, &mut output, memory);
        assert_eq!(run(b"short", &mut memory), Err(argon2::Error::SaltTooShort));
        assert_eq!(run(&[0; 65], &mut memory), Err(argon2::Error::SaltTooLong));
        assert_eq!(run(b"saltsalt", &mut memory[..63]), Err(argon2::Error::MemoryTooLittle));
        let two_lanes = Params::new(64, 1, 2, Some(32)).unwrap();
        assert!(!supports(Algorithm::Argon2id, Version::V0x13, &two_lanes));
        assert!(!supports(Algorithm::Argon2i, Version::V0x13, &params));
        assert!(!supports(Algorithm::Argon2id, Version::V0x10, &params));
        let mut output = [0u8; 32];
        assert_eq!(
            hash_into(&two_lanes, b"pw", b"saltsalt", &mut output, &mut memory),
            Err(argon2::Error::ThreadsTooMany)
        );
    }
}
