//! Copying a process's output into the logs with bounded memory.
//!
//! The pump reads whatever the pipe holds and hands each complete line to its sinks at once; a
//! sink never waits (over the rate cap a line is dropped and counted), so the app is never
//! blocked by Rhone and nothing queues up in between. A line longer than [`MAX_LINE`] is cut
//! there (at a character boundary) and the rest of it, up to the next newline, is skipped without
//! being held in memory.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::LogSink;

/// The longest line kept, in bytes.
pub const MAX_LINE: usize = 16 * 1024;
const READ_BUFFER: usize = 64 * 1024;

/// Copies `r` line by line (lossy UTF-8) into `log` and, if given, `also`, until end of file.
pub async fn pump(r: impl AsyncRead + Unpin, stream: &'static str, log: LogSink, also: Option<LogSink>) {
    let mut reader = BufReader::with_capacity(READ_BUFFER, r);
    let mut line: Vec<u8> = Vec::new();
    let mut skipping = false;
    let emit = |bytes: &[u8], cut: bool| {
        let text = String::from_utf8_lossy(bytes);
        for sink in std::iter::once(&log).chain(also.as_ref()) {
            sink.push(stream, &text, cut);
        }
    };
    loop {
        let chunk = match reader.fill_buf().await {
            Ok(chunk) if !chunk.is_empty() => chunk,
            _ => break,
        };
        let newline = chunk.iter().position(|&b| b == b'\n');
        let content = &chunk[..newline.unwrap_or(chunk.len())];
        if !skipping {
            let room = MAX_LINE - line.len();
            if content.len() <= room {
                line.extend_from_slice(content);
            } else {
                line.extend_from_slice(&content[..room]);
                emit(until_char_boundary(&line), true);
                line.clear();
                skipping = true;
            }
        }
        let consumed = newline.map_or(chunk.len(), |i| i + 1);
        reader.consume(consumed);
        if newline.is_some() {
            if !skipping {
                emit(&line, false);
            }
            line.clear();
            skipping = false;
        }
    }
    if !line.is_empty() && !skipping {
        emit(&line, false);
    }
}

/// `bytes` without an incomplete UTF-8 sequence at its end.
fn until_char_boundary(bytes: &[u8]) -> &[u8] {
    let tail_start = bytes.len().saturating_sub(4);
    let Some(lead) = (tail_start..bytes.len()).rev().find(|&i| bytes[i] & 0xC0 != 0x80) else {
        return bytes;
    };
    let expected = match bytes[lead] {
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        b if b >= 0xC0 => 2,
        _ => 1,
    };
    if bytes.len() - lead < expected {
        &bytes[..lead]
    } else {
        bytes
    }
}
