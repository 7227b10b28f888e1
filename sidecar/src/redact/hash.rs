//! Polynomial hashes modulo the Mersenne prime 2^61 - 1, for comparing a window of a text with
//! a pattern in constant time.
//!
//! With the prefix hashes `h[i]` of a text (the hash of its first `i` bytes), the hash of any
//! window is `h[end] - h[start] * base^len`, so a candidate of any length is checked with one
//! multiplication instead of a walk over its bytes; that is what keeps matching linear when a
//! value is long and periodic (1 MiB of `a` checked at every position of 1 MiB of `a`).
//!
//! The base is drawn at random for each matcher, so a node that chooses the text cannot aim at
//! a collision: two different strings of length `n` collide with probability at most
//! `n / 2^61` over the choice of the base. A collision can never hide a secret (equal strings
//! always hash equal); where a hash says "equal", the matcher confirms it byte by byte before
//! it masks anything.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// 2^61 - 1.
const MODULUS: u64 = (1 << 61) - 1;

/// A polynomial hash function: one random base.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Poly {
    base: u64,
}

fn reduce(x: u64) -> u64 {
    let x = (x & MODULUS) + (x >> 61);
    if x >= MODULUS { x - MODULUS } else { x }
}

fn mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    // 2^61 = 1 (mod 2^61 - 1): fold the high bits onto the low ones.
    reduce((p as u64 & MODULUS) + (p >> 61) as u64)
}

fn sub(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + MODULUS - b }
}

impl Poly {
    /// A hash function with a base drawn from the operating system's randomness (through the
    /// standard library's keyed hasher), far from 0 and 1.
    pub(crate) fn random() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x005e_c7e7_5a1d_3ca7);
        let base = hasher.finish() % (MODULUS - (1 << 32)) + (1 << 32);
        Self { base }
    }

    /// The hash after one more byte (bytes count as 1 to 256, so a zero byte is not nothing).
    pub(crate) fn step(self, hash: u64, byte: u8) -> u64 {
        reduce(mul(hash, self.base) + u64::from(byte) + 1)
    }

    /// The hash of `bytes`.
    pub(crate) fn of(self, bytes: &[u8]) -> u64 {
        self.extend(0, bytes)
    }

    /// The hash of a string whose prefix hashes to `hash`, continued by `bytes`.
    pub(crate) fn extend(self, hash: u64, bytes: &[u8]) -> u64 {
        bytes.iter().fold(hash, |h, &b| self.step(h, b))
    }

    /// `base^len`, the factor that moves a prefix hash past `len` bytes.
    pub(crate) fn pow(self, len: usize) -> u64 {
        let (mut result, mut square, mut e) = (1, self.base, len);
        while e > 0 {
            if e & 1 == 1 {
                result = mul(result, square);
            }
            square = mul(square, square);
            e >>= 1;
        }
        result
    }

    /// Appends the prefix hashes of `bytes` to `hashes`, which holds those of what came before
    /// (and at least the hash of the empty prefix).
    pub(crate) fn push_prefixes(self, hashes: &mut Vec<u64>, bytes: &[u8]) {
        let mut h = hashes.last().copied().unwrap_or(0);
        if hashes.is_empty() {
            hashes.push(0);
        }
        hashes.reserve(bytes.len());
        for &b in bytes {
            h = self.step(h, b);
            hashes.push(h);
        }
    }

    /// The hash of the window `start..start + len`, from prefix hashes; `pow` is
    /// `self.pow(len)`. The window must lie within the hashed text.
    pub(crate) fn window(hashes: &[u64], start: usize, len: usize, pow: u64) -> u64 {
        sub(hashes[start + len], mul(hashes[start], pow))
    }

    /// The hash of `b` given the hashes of `a` and of `a` followed by `b` (`pow` is
    /// `self.pow(b.len())`).
    pub(crate) fn suffix(whole: u64, prefix: u64, pow: u64) -> u64 {
        sub(whole, mul(prefix, pow))
    }
}

/// A `Hasher` for map keys that are already hashes under a random base: it only mixes them.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Builds [`Mix`] hashers.
pub(crate) type BuildMix = BuildHasherDefault<Mix>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_hashes_like_the_same_bytes_alone() {
        let poly = Poly::random();
        let text = b"0123456789abcdef\x00\xffxyz";
        let mut hashes = Vec::new();
        poly.push_prefixes(&mut hashes, &text[..5]);
        poly.push_prefixes(&mut hashes, &text[5..]);
        assert_eq!(hashes.len(), text.len() + 1);
        for start in 0..text.len() {
            for len in 0..=text.len() - start {
                let window = Poly::window(&hashes, start, len, poly.pow(len));
                assert_eq!(window, poly.of(&text[start..start + len]));
            }
        }
        assert_ne!(poly.of(b"\x00"), poly.of(b""));
        assert_ne!(poly.of(b"ab"), poly.of(b"ba"));
    }

    #[test]
    fn multiplication_reduces_fully() {
        let big = MODULUS - 1;
        assert_eq!(mul(big, big), 1, "(-1)^2 = 1");
        assert_eq!(mul(MODULUS - 1, 2), MODULUS - 2);
        assert_eq!(reduce(MODULUS), 0);
        assert_eq!(reduce(2 * MODULUS), 0);
    }
}
