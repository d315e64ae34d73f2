//! RFC 2136 dynamic updates over TCP, signed with TSIG (RFC 8945).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm as HickoryAlg;
use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{error_chain, DnsError};

const TIMEOUT: Duration = Duration::from_secs(10);
const TTL: u32 = 60;
/// Allowed clock difference between us and the server.
const FUDGE: u16 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsigAlgorithm {
    HmacSha256,
    HmacSha512,
}

/// A DNS server accepting TSIG-signed dynamic updates for `zone`.
#[derive(Clone)]
pub struct Rfc2136 {
    pub server: SocketAddr,
    /// e.g. "example.test."
    pub zone: String,
    pub key_name: String,
    pub algorithm: TsigAlgorithm,
    /// The raw key (already decoded from base64).
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for Rfc2136 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rfc2136")
            .field("server", &self.server)
            .field("zone", &self.zone)
            .field("key_name", &self.key_name)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn parse_name(s: &str) -> Result<Name, DnsError> {
    let mut name = Name::from_ascii(s.trim()).map_err(|_| DnsError::InvalidName {
        name: s.to_string(),
    })?;
    if name.is_root() {
        return Err(DnsError::InvalidName {
            name: s.to_string(),
        });
    }
    name.set_fqdn(true);
    Ok(name)
}

impl Rfc2136 {
    /// Adds (`add`) or deletes the single TXT record `fqdn` / `value`.
    pub(crate) async fn update(&self, fqdn: &str, value: &str, add: bool) -> Result<(), DnsError> {
        let zone = parse_name(&self.zone)?;
        let name = parse_name(fqdn)?;
        if !zone.zone_of(&name) {
            return Err(DnsError::NotInZone {
                name: fqdn.to_string(),
                zone: zone.to_string(),
            });
        }
        if value.len() > 255 {
            return Err(DnsError::InvalidName {
                name: format!("TXT value of {} bytes for {fqdn}", value.len()),
            });
        }
        let txt = RData::TXT(TXT::new(vec![value.to_string()]));
        // RFC 2136 2.5.1 adds an RR; 2.5.4 deletes one RR: class NONE, TTL 0.
        let mut record = Record::from_rdata(name, if add { TTL } else { 0 }, txt);
        record.set_dns_class(if add { DNSClass::IN } else { DNSClass::NONE });

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut msg = Message::new();
        msg.set_id((now.subsec_nanos() ^ std::process::id()) as u16)
            .set_message_type(MessageType::Query)
            .set_op_code(OpCode::Update);
        let mut zone_section = Query::query(zone, RecordType::SOA);
        zone_section.set_query_class(DNSClass::IN);
        msg.add_query(zone_section);
        msg.add_name_server(record);

        let algorithm = match self.algorithm {
            TsigAlgorithm::HmacSha256 => HickoryAlg::HmacSha256,
            TsigAlgorithm::HmacSha512 => HickoryAlg::HmacSha512,
        };
        let key_name = Name::from_ascii(&self.key_name).map_err(|_| {
            DnsError::Tsig(format!(
                "key name {:?} is not a valid DNS name",
                self.key_name
            ))
        })?;
        if self.secret.is_empty() {
            return Err(DnsError::Tsig("the secret is empty".into()));
        }
        let signer = TSigner::new(self.secret.clone(), algorithm, key_name, FUDGE)
            .map_err(|e| DnsError::Tsig(e.to_string()))?;
        let verifier = msg
            .finalize(&signer, now.as_secs() as u32)
            .map_err(|e| DnsError::Tsig(e.to_string()))?;
        let request = msg.to_vec().map_err(|e| DnsError::InvalidName {
            name: format!("{fqdn} ({e})"),
        })?;

        tracing::debug!(server = %self.server, fqdn, add, "sending RFC 2136 update");
        let server = self.server.to_string();
        let response = tokio::time::timeout(TIMEOUT, exchange(self.server, &request))
            .await
            .map_err(|_| DnsError::Timeout {
                server: server.clone(),
            })?
            .map_err(|e| DnsError::Network {
                server,
                reason: error_chain(&e),
            })?;

        let answer =
            Message::from_vec(&response).map_err(|e| DnsError::BadResponse(e.to_string()))?;
        if answer.id() != msg.id() || answer.message_type() != MessageType::Response {
            return Err(DnsError::BadResponse(
                "the answer does not match the update".into(),
            ));
        }
        let Some(mut verify) = verifier else {
            return Err(DnsError::BadResponse("no TSIG verifier".into()));
        };
        let signed = verify(&response);
        let rcode = answer.response_code();
        if rcode != ResponseCode::NoError {
            // Error answers are often unsigned (BADSIG/BADKEY), so they are reported even then;
            // they never make us believe an update happened.
            let (mnemonic, mut explanation) = describe(rcode);
            if rcode == ResponseCode::NotAuth && signed.is_ok() {
                // The server accepted our key, so it is really not authoritative.
                explanation = "the server is not authoritative for this zone";
            }
            return Err(DnsError::Refused {
                rcode: mnemonic,
                explanation: explanation.into(),
            });
        }
        // Success must come signed with our key.
        signed.map_err(|e| {
            DnsError::BadResponse(format!(
                "the TSIG signature of the answer is not valid ({e})"
            ))
        })?;
        tracing::info!(fqdn, add, "RFC 2136 update accepted");
        Ok(())
    }
}

/// One request/response exchange over DNS-over-TCP (2-byte length prefix).
async fn exchange(server: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(server).await?;
    let mut framed = Vec::with_capacity(request.len() + 2);
    framed.extend_from_slice(&(request.len() as u16).to_be_bytes());
    framed.extend_from_slice(request);
    stream.write_all(&framed).await?;
    let len = stream.read_u16().await? as usize;
    let mut response = vec![0; len];
    stream.read_exact(&mut response).await?;
    Ok(response)
}

/// The response code's mnemonic and what it usually means for an update.
fn describe(rcode: ResponseCode) -> (String, &'static str) {
    use ResponseCode::*;
    let (mnemonic, words) = match rcode {
        FormErr => ("FORMERR", "the server could not understand the update"),
        ServFail => (
            "SERVFAIL",
            "the server failed to apply the update; see its logs",
        ),
        NXDomain => ("NXDOMAIN", "the name does not exist"),
        NotImp => ("NOTIMP", "the server does not support dynamic updates"),
        Refused => (
            "REFUSED",
            "the server does not allow this key to update this zone, or does not serve it",
        ),
        YXDomain => ("YXDOMAIN", "an update prerequisite failed"),
        YXRRSet => ("YXRRSET", "an update prerequisite failed"),
        NXRRSet => ("NXRRSET", "an update prerequisite failed"),
        NotAuth => (
            "NOTAUTH",
            "TSIG key not accepted: check the key name, secret, algorithm and this machine's clock",
        ),
        NotZone => ("NOTZONE", "the name is not inside the zone"),
        other => {
            return (
                format!("{} ({other})", u16::from(other)),
                "unexpected response code",
            )
        }
    };
    (mnemonic.to_string(), words)
}
