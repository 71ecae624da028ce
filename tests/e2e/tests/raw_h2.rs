//! A hand-written HTTP/2 client for the attacks no real client makes: frames written byte for
//! byte (headers as HPACK literals, never Huffman), frames read back by type. Just enough to
//! misbehave and see what the server answers.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::no_hang;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const ACK: u8 = 0x1;

/// HTTP/2 error codes (RFC 9113, 7).
pub const CANCEL: u32 = 0x8;
pub const REFUSED_STREAM: u32 = 0x7;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// One frame as read.
#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// A GOAWAY's last stream, error code and debug data.
    pub fn goaway(&self) -> (u32, u32, String) {
        assert_eq!(self.kind, GOAWAY, "{self:?}");
        let word = |at: usize| u32::from_be_bytes(self.payload[at..at + 4].try_into().expect("4 bytes"));
        (word(0) & 0x7fff_ffff, word(4), String::from_utf8_lossy(&self.payload[8..]).into_owned())
    }

    /// A RST_STREAM's error code.
    pub fn reset_code(&self) -> u32 {
        assert_eq!(self.kind, RST_STREAM, "{self:?}");
        u32::from_be_bytes(self.payload[..4].try_into().expect("4 bytes"))
    }
}

/// A frame's bytes.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    bytes.extend_from_slice(&[kind, flags]);
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// An HPACK integer with an `prefix`-bit prefix (RFC 7541, 5.1) after the bits in `first`.
fn integer(out: &mut Vec<u8>, first: u8, prefix: u32, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A header block of literals without indexing, plain strings (RFC 7541, 6.2.2).
pub fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0);
        integer(&mut block, 0, 7, name.len());
        block.extend_from_slice(name.as_bytes());
        integer(&mut block, 0, 7, value.len());
        block.extend_from_slice(value.as_bytes());
    }
    block
}

/// The headers of a SayHello call.
pub fn say_hello_headers(port: u16) -> Vec<u8> {
    header_block(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/helloworld.Greeter/SayHello"),
        (":authority", &format!("127.0.0.1:{port}")),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ])
}

/// A raw connection to a server.
pub struct Raw {
    pub socket: TcpStream,
}

impl Raw {
    /// Connects and sends the preface and an empty SETTINGS frame (no SETTINGS ack is awaited).
    pub async fn handshake(port: u16) -> Raw {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        socket.write_all(&hello).await.expect("preface");
        Raw { socket }
    }

    /// Sends `bytes`. A failure is ignored: a server that gave up on the connection (a GOAWAY,
    /// then the close) shows in what is read next.
    pub async fn send(&mut self, bytes: &[u8]) {
        let _ = self.socket.write_all(bytes).await;
    }

    /// The next frame, or `None` once the server closed the connection (or reset it).
    pub async fn next(&mut self) -> Option<Frame> {
        let mut header = [0u8; 9];
        no_hang("a frame or the end", self.socket.read_exact(&mut header)).await.ok()?;
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0; length];
        no_hang("a frame's payload", self.socket.read_exact(&mut payload)).await.ok()?;
        let stream = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        Some(Frame { kind: header[3], flags: header[4], stream, payload })
    }

    /// Reads until a frame `wanted` accepts, acking SETTINGS on the way; `None` if the
    /// connection ends first.
    pub async fn until(&mut self, mut wanted: impl FnMut(&Frame) -> bool) -> Option<Frame> {
        loop {
            let frame = self.next().await?;
            if frame.kind == SETTINGS && frame.flags & ACK == 0 {
                let _ = self.socket.write_all(&self::frame(SETTINGS, ACK, 0, &[])).await;
            }
            if wanted(&frame) {
                return Some(frame);
            }
        }
    }

    /// Sends a PING and reads up to its ack: the frames before it (a GOAWAY among them means
    /// the server gave up on the connection first).
    pub async fn ping_round_trip(&mut self, data: [u8; 8]) -> Vec<Frame> {
        self.send(&frame(PING, 0, 0, &data)).await;
        let mut before = Vec::new();
        while let Some(frame) = self.next().await {
            if frame.kind == SETTINGS && frame.flags & ACK == 0 {
                self.send(&self::frame(SETTINGS, ACK, 0, &[])).await;
            }
            if frame.kind == PING && frame.flags & ACK != 0 && frame.payload == data {
                return before;
            }
            before.push(frame);
        }
        before
    }
}
