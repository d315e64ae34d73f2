//! The invitation email: a short plain-text message with the one-time link.

use super::one_line;

/// Longest team name or inviter shown (in characters); longer ones end in `…`.
const MAX_NAME: usize = 80;

/// `(subject, body)` of the email inviting someone to `team_name` with `role`. Every value is put on
/// one line (CR, LF and other control characters become spaces), so none can add a header to the
/// subject or a line of its own to the body.
pub fn invitation_email(team_name: &str, inviter: &str, role: &str, url: &str, expires_in_days: i64) -> (String, String) {
    let team = shorten(&one_line(team_name));
    let inviter = shorten(&one_line(inviter));
    let role = one_line(role);
    let url = one_line(url);
    let article = match role.chars().next() {
        Some(c) if "aeiouAEIOU".contains(c) => "an",
        _ => "a",
    };
    let expiry = match expires_in_days {
        ..=0 => "in less than a day".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    };
    let subject = format!("{inviter} invited you to join {team} on Rhone");
    let body = format!(
        "Hello,\n\
         \n\
         {inviter} invited you to join the team \"{team}\" on Rhone as {article} {role}.\n\
         \n\
         To accept, open this link:\n\
         \n\
         {url}\n\
         \n\
         The link can be used once and expires {expiry}. If you did not expect this invitation, you can\n\
         ignore this email: nothing happens until the link is opened.\n"
    );
    (subject, body)
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_NAME {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_NAME - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://rhone.example.com/invitations/tok123";

    #[test]
    fn the_invitation_names_the_team_the_inviter_the_role_the_link_and_the_expiry() {
        let (subject, body) = invitation_email("Acme", "ann@example.com", "admin", URL, 7);
        assert_eq!(subject, "ann@example.com invited you to join Acme on Rhone");
        assert!(body.contains("ann@example.com invited you to join the team \"Acme\" on Rhone as an admin."), "{body}");
        assert!(body.contains(&format!("\n{URL}\n")), "{body}");
        assert!(body.contains("expires in 7 days"), "{body}");
    }

    #[test]
    fn the_expiry_reads_naturally_for_one_day_and_less() {
        assert!(invitation_email("T", "a", "member", URL, 1).1.contains("as a member.\n"));
        assert!(invitation_email("T", "a", "member", URL, 1).1.contains("expires in 1 day."));
        assert!(invitation_email("T", "a", "member", URL, 0).1.contains("expires in less than a day."));
    }

    #[test]
    fn line_breaks_in_any_value_cannot_add_a_header_or_a_line() {
        let (subject, body) =
            invitation_email("Acme\r\nBcc: evil@example.com", "x\nClick: https://evil.example", "member\r\n", &format!("{URL}\r\nhttps://evil.example"), 3);
        assert!(!subject.contains('\r') && !subject.contains('\n'), "{subject:?}");
        assert_eq!(subject, "x Click: https://evil.example invited you to join Acme Bcc: evil@example.com on Rhone");
        assert!(!body.lines().any(|l| l.starts_with("Bcc:") || l.starts_with("Click:") || l.starts_with("https://evil")), "{body}");
    }

    #[test]
    fn very_long_team_names_are_shortened_without_splitting_a_character() {
        let (subject, _) = invitation_email(&"é".repeat(500), "a", "member", URL, 3);
        assert!(subject.contains(&format!("{}…", "é".repeat(MAX_NAME - 1))), "{subject}");
        assert!(subject.chars().count() < 200);
    }
}
