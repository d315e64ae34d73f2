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
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret(b"12345678901234567890".to_vec())
    }

    fn code_str(secret: &TotpSecret, t: u64) -> String {
        format!("{:06}", code_at(secret, t))
    }

    #[test]
    fn codes_match_the_rfc_6238_sha1_test_vectors() {
        let secret = rfc_secret();
        let vectors = [
            (59, 287_082),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
            (20_000_000_000, 353_130),
        ];
        for (t, expected) in vectors {
            assert_eq!(code_at(&secret, t), expected, "at t={t}");
        }
        assert_eq!(code_str(&secret, 1_111_111_109), "081804");
    }

    #[test]
    fn a_code_with_a_leading_zero_verifies_only_with_the_zero() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, "005924", 1_234_567_890, None), Some(1_234_567_890 / 30));
        assert_eq!(verify(&secret, "5924", 1_234_567_890, None), None);
    }

    #[test]
    fn the_current_code_verifies_and_returns_its_step() {
        let secret = TotpSecret::generate();
        let t = 1_700_000_000;
        assert_eq!(verify(&secret, &code_str(&secret, t), t, None), Some(t / 30));
    }

    #[test]
    fn codes_one_step_early_or_late_are_accepted() {
        let secret = rfc_secret();
        let t = 1_700_000_010;
        assert_eq!(verify(&secret, &code_str(&secret, t - 30), t, None), Some(t / 30 - 1));
        assert_eq!(verify(&secret, &code_str(&secret, t + 30), t, None), Some(t / 30 + 1));
    }

    #[test]
    fn codes_two_steps_away_are_rejected() {
        let secret = rfc_secret();
        let t = 1_700_000_010;
        let window: Vec<String> = [t - 30, t, t + 30].iter().map(|w| code_str(&secret, *w)).collect();
        for other in [t - 60, t + 60, t - 3600] {
            let code = code_str(&secret, other);
            assert!(!window.contains(&code), "pick another time: {code} collides with the window");
            assert_eq!(verify(&secret, &code, t, None), None, "code from t={other}");
        }
    }

    #[test]
    fn a_code_cannot_be_used_twice() {
        let secret = rfc_secret();
        let t = 1_700_000_000;
        let code = code_str(&secret, t);
        let step = verify(&secret, &code, t, None);
        assert_eq!(step, Some(t / 30));
        assert_eq!(verify(&secret, &code, t, step), None);
        assert_eq!(verify(&secret, &code, t + 29, step), None);
    }

    #[test]
    fn an_older_code_is_refused_after_a_newer_one_was_used() {
        let secret = rfc_secret();
        let t = 1_700_000_000;
        let step = verify(&secret, &code_str(&secret, t + 30), t, None);
        assert_eq!(step, Some(t / 30 + 1));
        assert_eq!(verify(&secret, &code_str(&secret, t), t, step), None);
        assert_eq!(verify(&secret, &code_str(&secret, t + 60), t + 60, step), Some(t / 30 + 2));
    }

    #[test]
    fn when_two_steps_share_a_code_the_later_step_is_used_up() {
        // Steps 910737 and 910738 of the RFC secret both give 911617.
        let secret = rfc_secret();
        assert_eq!(code_at(&secret, 910_737 * 30), code_at(&secret, 910_738 * 30));
        let t = 910_738 * 30;
        assert_eq!(verify(&secret, "911617", t, None), Some(910_738));
        assert_eq!(verify(&secret, "911617", t, Some(910_737)), Some(910_738));
        assert_eq!(verify(&secret, "911617", t, Some(910_738)), None);
    }

    #[test]
    fn only_ascii_digits_count_as_a_code() {
        assert_eq!(parse_code(" 012 345 "), Some(*b"012345"));
        for bad in ["01234a", "0123 4!", "012345 6", "01234", "٠١٢٣٤٥", "0x1234"] {
            assert_eq!(parse_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn spaces_around_and_inside_a_code_are_ignored() {
        let secret = rfc_secret();
        let t = 1_234_567_890;
        assert!(verify(&secret, " 005924 ", t, None).is_some());
        assert!(verify(&secret, "005 924", t, None).is_some());
        assert!(verify(&secret, "005924\n", t, None).is_some());
    }

    #[test]
    fn malformed_codes_are_rejected() {
        let secret = rfc_secret();
        let t = 1_234_567_890;
        for bad in ["", "   ", "05924", "0059240", "00592a", "abcdef", "-05924", "+05924", "００５９２４", "005924x"] {
            assert_eq!(verify(&secret, bad, t, None), None, "accepted {bad:?}");
        }
    }

    #[test]
    fn verification_near_time_zero_and_the_end_of_time_does_not_panic() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, &code_str(&secret, 0), 0, None), Some(0));
        assert!(verify(&secret, &code_str(&secret, u64::MAX), u64::MAX, None).is_some());
        assert!(verify(&secret, "123456", u64::MAX, Some(u64::MAX)).is_none());
    }

    #[test]
    fn generated_secrets_are_20_random_bytes() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn base32_round_trips_uppercase_without_padding() {
        let secret = TotpSecret::generate();
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        let parsed = TotpSecret::from_base32(&text).map(|s| s.as_bytes().to_vec());
        assert_eq!(parsed.as_deref(), Some(secret.as_bytes()));
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn base32_parsing_accepts_lowercase_spaces_and_padding() {
        let expected = b"12345678901234567890".as_slice();
        for text in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            " GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n",
        ] {
            let parsed = TotpSecret::from_base32(text).map(|s| s.as_bytes().to_vec());
            assert_eq!(parsed.as_deref(), Some(expected), "{text:?}");
        }
        // 17 bytes need padding in padded base32.
        let padded = data_encoding::BASE32.encode(&[7u8; 17]);
        assert!(padded.ends_with('='));
        assert_eq!(TotpSecret::from_base32(&padded).map(|s| s.as_bytes().to_vec()), Some(vec![7u8; 17]));
    }

    #[test]
    fn base32_parsing_rejects_garbage_and_short_secrets() {
        for text in ["", "   ", "====", "GEZDGNBVGY3TQOJQ1", "not base32!", "JBSWY3DPEHPK3PXP", "é"] {
            assert!(TotpSecret::from_base32(text).is_none(), "accepted {text:?}");
        }
    }

    #[test]
    fn debug_does_not_leak_the_secret() {
        let secret = rfc_secret();
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
        assert!(!shown.contains("GEZD") && !shown.contains("49") && !shown.contains("12345"));
    }

    #[test]
    fn keys_of_any_length_give_the_same_mac_as_the_hmac_crate() {
        for len in [1, 16, 20, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let Ok(mut reference) = <HmacSha1 as Mac>::new_from_slice(&key) else {
                panic!("hmac refused a {len}-byte key");
            };
            reference.update(b"message");
            let mut ours = <HmacSha1 as Mac>::new(&key_block(&key));
            ours.update(b"message");
            assert_eq!(ours.finalize().into_bytes(), reference.finalize().into_bytes(), "key of {len} bytes");
        }
    }

    #[test]
    fn otpauth_url_has_the_expected_shape() {
        let url = otpauth_url(&rfc_secret(), "Rhone", "alice@example.com");
        assert_eq!(
            url,
            "otpauth://totp/Rhone:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Rhone&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn otpauth_url_escapes_at_signs_spaces_and_colons() {
        let url = otpauth_url(&rfc_secret(), "My Co: Rhone", "a b:c@d&e=f?g/h#i%é");
        let (label, query) = url.split_once('?').unwrap_or_default();
        assert_eq!(label, "otpauth://totp/My%20Co%3A%20Rhone:a%20b%3Ac%40d%26e%3Df%3Fg%2Fh%23i%25%C3%A9");
        assert!(query.contains("&issuer=My%20Co%3A%20Rhone&"));
        assert_eq!(query.matches('&').count(), 4);
        assert!(!url.contains(' ') && !url.contains('@'));
    }

    #[test]
    fn qr_svg_is_an_inline_svg_element() {
        let svg = qr_svg(&otpauth_url(&TotpSecret::generate(), "Rhone", "alice@example.com"));
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.ends_with("</svg>"));
        let width: u32 = svg
            .split_once("width=\"")
            .and_then(|(_, rest)| rest.split('"').next())
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        assert!(width >= 200, "width {width}");
    }

    #[test]
    fn qr_svg_of_oversized_data_is_empty_not_a_panic() {
        assert_eq!(qr_svg(&"x".repeat(10_000)), "");
    }

    #[test]
    fn recovery_codes_are_ten_distinct_well_formed_codes() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            let (left, right) = code.split_once('-').unwrap_or_default();
            assert_eq!((left.len(), right.len()), (5, 5), "{code}");
            assert!(left.bytes().chain(right.bytes()).all(|b| RECOVERY_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']), "{code}");
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_ne!(recovery_codes(), codes);
    }

    #[test]
    fn recovery_code_hash_ignores_dash_case_and_spaces() {
        let hash = hash_recovery_code("abcde-fghjk");
        assert_eq!(hash.len(), 64);
        for typed in ["abcdefghjk", "ABCDE-FGHJK", " abcde fghjk ", "AbCdE-fGhJk\n"] {
            assert_eq!(hash_recovery_code(typed), hash, "{typed:?}");
        }
        assert_ne!(hash_recovery_code("abcde-fghjm"), hash);
    }

    #[test]
    fn recovery_code_hash_is_sha256_of_the_normalised_code() {
        // `printf abcdefghjk | sha256sum`
        assert_eq!(
            hash_recovery_code("ABCDE-FGHJK"),
            "22f3f00d7f9cfe6eeefa9b71bdcb093a9080fcf4981d2dbf932648fa15a2d793"
        );
    }
}
