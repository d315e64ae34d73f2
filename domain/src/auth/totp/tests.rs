//! Tests of the TOTP codes (RFC 6238 Appendix B vectors), the otpauth URL, QR codes and recovery codes.

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
