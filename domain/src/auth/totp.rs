//! Two-factor sign-in: TOTP codes (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps), the `otpauth://`
//! URL and its QR code for authenticator apps, and one-time recovery codes (only their SHA-256 is
//! stored). Pure functions: the caller supplies the time and keeps the last used step.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha1::Sha1;
use sha2::{Digest, Sha256};

type HmacSha1 = Hmac<Sha1>;

/// Seconds per TOTP step.
pub const STEP_SECS: u64 = 30;
/// Bytes in a generated secret (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;
/// Shortest secret `from_base32` accepts (128 bits, the RFC 4226 minimum).
pub const MIN_SECRET_LEN: usize = 16;
/// Recovery codes handed out at a time.
pub const RECOVERY_CODES: usize = 10;

/// Lowercase letters and digits without the look-alikes 0/o, 1/l/i.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters on each side of the dash in a recovery code.
const RECOVERY_HALF: usize = 5;

/// A TOTP shared secret. `Debug` never shows the bytes.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// 20 random bytes from the operating system.
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_LEN];
        OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// Parses base32 as authenticator apps show it: any case, spaces allowed, `=` padding
    /// optional. `None` if it is not base32 or decodes to fewer than 16 bytes.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = data_encoding::BASE32_NOPAD.decode(cleaned.trim_end_matches('=').as_bytes()).ok()?;
        (bytes.len() >= MIN_SECRET_LEN).then_some(TotpSecret(bytes))
    }

    /// Uppercase base32 without padding.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// The raw secret: the HMAC key.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

/// The 6-digit code for the step containing `unix_secs`.
pub fn code_at(secret: &TotpSecret, unix_secs: u64) -> u32 {
    hotp(secret.as_bytes(), unix_secs / STEP_SECS)
}

/// Checks `code` against the steps before, at and after `unix_secs` (clock skew). Whitespace is
/// ignored; anything else but exactly 6 ASCII digits is refused. Steps at or before
/// `last_used_step` are refused, so each code works once. Returns the matched step, to be stored
/// as the new `last_used_step`.
#[must_use]
pub fn verify(secret: &TotpSecret, code: &str, unix_secs: u64, last_used_step: Option<u64>) -> Option<u64> {
    let given = parse_code(code)?;
    let now = unix_secs / STEP_SECS;
    let mut matched = None;
    // Every candidate is computed and compared, whatever matched. If two steps share a code, the
    // later one wins so the same digits cannot be replayed within the window.
    for step in [now.checked_sub(1), Some(now), now.checked_add(1)].into_iter().flatten() {
        let fresh = last_used_step.is_none_or(|last| step > last);
        if constant_time_eq(&given, &digits(hotp(secret.as_bytes(), step))) && fresh {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://` URL authenticator apps read from the QR code.
pub fn otpauth_url(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period={STEP_SECS}",
        account = percent_encode(account),
        secret = secret.to_base32(),
    )
}

/// `data` as an inline SVG QR code (starts with `<svg`, at least 200×200 px). Empty if `data` is
/// too long for a QR code (about 2,300 bytes at this error correction level).
pub fn qr_svg(data: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(data.as_bytes()) else {
        return String::new();
    };
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build();
    // Drop the XML declaration: it has no place inside an HTML document.
    match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    }
}

/// Ten fresh `xxxxx-xxxxx` codes (about 49 bits each), all distinct.
pub fn recovery_codes() -> Vec<String> {
    let mut codes: Vec<String> = Vec::with_capacity(RECOVERY_CODES);
    while codes.len() < RECOVERY_CODES {
        let code = format!("{}-{}", random_chars(RECOVERY_HALF), random_chars(RECOVERY_HALF));
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// Hex SHA-256 of a recovery code after lowercasing and removing whitespace and dashes, so
/// `ABCDE-FGHJK`, `abcdefghjk` and `abcde fghjk` hash alike.
pub fn hash_recovery_code(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

/// RFC 4226 HOTP with dynamic truncation, reduced to 6 digits.
fn hotp(key: &[u8], counter: u64) -> u32 {
    let mut mac = <HmacSha1 as Mac>::new(&key_block(key));
    mac.update(&counter.to_be_bytes());
    let hash: [u8; 20] = mac.finalize().into_bytes().into();
    let offset = usize::from(hash[19] & 0x0f);
    let word = [hash[offset], hash[offset + 1], hash[offset + 2], hash[offset + 3]];
    (u32::from_be_bytes(word) & 0x7fff_ffff) % 1_000_000
}

/// The key as HMAC's block-sized key (RFC 2104: hashed if longer than a block, then zero-padded),
/// which makes the HMAC constructor infallible.
fn key_block(key: &[u8]) -> hmac::digest::Key<HmacSha1> {
    let mut block = hmac::digest::Key::<HmacSha1>::default();
    if key.len() > block.len() {
        let hashed = Sha1::digest(key);
        block[..hashed.len()].copy_from_slice(&hashed);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

/// Exactly six ASCII digits once whitespace is removed.
fn parse_code(code: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut len = 0;
    for b in code.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if !b.is_ascii_digit() {
            return None;
        }
        *out.get_mut(len)? = b;
        len += 1;
    }
    (len == out.len()).then_some(out)
}

/// `code` as six ASCII digits, zero-padded.
fn digits(mut code: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        // `code % 10` is below 10, so the cast is exact.
        *slot = b'0' + (code % 10) as u8;
        code /= 10;
    }
    out
}

fn constant_time_eq(a: &[u8; 6], b: &[u8; 6]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 percent-encoding of everything but unreserved characters (space is `%20`).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
    out
}

fn random_chars(n: usize) -> String {
    (0..n)
        .map(|_| char::from(RECOVERY_ALPHABET[OsRng.gen_range(0..RECOVERY_ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests;
