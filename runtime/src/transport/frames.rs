//! HTTP/2 frame headers (RFC 9113, 4.1) read off a connection's byte stream as it passes, in
//! either direction, without buffering it: what a server needs to see of the frames hyper and
//! h2 keep to themselves (PINGs, stream opens and ends), and the one frame it writes itself, a
//! GOAWAY with debug data.

/// The client connection preface (RFC 9113, 3.4), which comes before the first frame.
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types (RFC 9113, 6).
pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const PING: u8 = 0x6;
pub(crate) const GOAWAY: u8 = 0x7;

/// The END_STREAM flag of DATA and HEADERS; the ACK flag of PING and SETTINGS.
pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const ACK: u8 = 0x1;

/// One frame's 9-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub(crate) length: u32,
    pub(crate) kind: u8,
    pub(crate) flags: u8,
    pub(crate) stream: u32,
}

impl FrameHeader {
    fn parse(bytes: &[u8; 9]) -> Self {
        FrameHeader {
            length: u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]),
            kind: bytes[3],
            flags: bytes[4],
            // The reserved top bit is ignored (RFC 9113, 4.1).
            stream: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff,
        }
    }
}

/// Finds the frame headers in one direction of a connection, fed its bytes in whatever pieces
/// they come: a header split across two reads is put together, payloads are skipped.
#[derive(Debug, Default)]
pub(crate) struct FrameCursor {
    /// Bytes of the preface still to skip before the first frame.
    preface: u8,
    /// Payload bytes of the current frame still to skip.
    skip: usize,
    header: [u8; 9],
    /// How much of `header` is filled.
    filled: u8,
}

impl FrameCursor {
    /// A cursor for the bytes a client sends: the preface, then frames.
    pub(crate) fn after_preface() -> Self {
        FrameCursor { preface: PREFACE.len() as u8, ..FrameCursor::default() }
    }

    /// A cursor for the bytes a server sends: frames from the first byte.
    pub(crate) fn frames() -> Self {
        FrameCursor::default()
    }

    /// Whether the bytes fed so far end exactly at a frame's end (or before the first frame).
    pub(crate) fn at_boundary(&self) -> bool {
        self.preface == 0 && self.skip == 0 && self.filled == 0
    }

    /// How many more bytes end the frame in progress (all of them, between frames).
    pub(crate) fn to_boundary(&self) -> usize {
        match (self.preface, self.filled, self.skip) {
            (0, 0, 0) => usize::MAX,
            (0, 0, skip) => skip,
            (0, filled, _) => 9 - filled as usize,
            (preface, _, _) => preface as usize,
        }
    }

    /// Feeds the next `bytes`, calling `frame` with each header they complete.
    #[cfg(test)]
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut frame: impl FnMut(FrameHeader)) {
        while let Some(header) = self.next_header(&mut bytes) {
            frame(header);
        }
    }

    /// Consumes `bytes` up to the end of the next frame header they complete, and gives that
    /// header; `None` once they are used up without completing one. Call until `None`.
    #[inline]
    pub(crate) fn next_header(&mut self, bytes: &mut &[u8]) -> Option<FrameHeader> {
        let skip = self.skip.min(bytes.len());
        self.skip -= skip;
        *bytes = &bytes[skip..];
        if self.filled == 0 && self.preface == 0 {
            // The common case: a whole header, read in place.
            if let Some(header) = bytes.first_chunk::<9>() {
                let header = FrameHeader::parse(header);
                *bytes = &bytes[9..];
                self.skip = header.length as usize;
                return Some(header);
            }
            if bytes.is_empty() {
                return None;
            }
        }
        self.next_header_in_pieces(bytes)
    }

    /// [`FrameCursor::next_header`] for the rare bytes: the preface, or a header split between
    /// two pieces, which is put together.
    #[cold]
    fn next_header_in_pieces(&mut self, bytes: &mut &[u8]) -> Option<FrameHeader> {
        if self.preface > 0 {
            let take = bytes.len().min(self.preface as usize);
            self.preface -= take as u8;
            *bytes = &bytes[take..];
            if self.preface > 0 {
                return None;
            }
            return self.next_header(bytes);
        }
        let filled = self.filled as usize;
        let take = bytes.len().min(9 - filled);
        self.header[filled..filled + take].copy_from_slice(&bytes[..take]);
        *bytes = &bytes[take..];
        self.filled += take as u8;
        if self.filled < 9 {
            return None;
        }
        self.filled = 0;
        let header = FrameHeader::parse(&self.header);
        self.skip = header.length as usize;
        Some(header)
    }
}

/// A GOAWAY frame (RFC 9113, 6.8): the last stream the sender processed, its error code, and
/// debug data (gRPC's `too_many_pings`).
pub(crate) fn goaway(last_stream: u32, code: u32, debug: &[u8]) -> Vec<u8> {
    let length = 8 + debug.len() as u32;
    let mut frame = Vec::with_capacity(9 + length as usize);
    frame.extend_from_slice(&length.to_be_bytes()[1..]);
    frame.extend_from_slice(&[GOAWAY, 0, 0, 0, 0, 0]);
    frame.extend_from_slice(&(last_stream & 0x7fff_ffff).to_be_bytes());
    frame.extend_from_slice(&code.to_be_bytes());
    frame.extend_from_slice(debug);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        bytes.extend_from_slice(&[kind, flags]);
        bytes.extend_from_slice(&stream.to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn finds_every_header_however_the_bytes_are_split() {
        let mut stream = PREFACE.to_vec();
        stream.extend(frame(0x4, 0, 0, &[0; 6]));
        stream.extend(frame(HEADERS, 0x4, 1, &[7; 20]));
        stream.extend(frame(DATA, END_STREAM, 1, &[1; 100]));
        stream.extend(frame(PING, 0, 0, &[0; 8]));
        let expected = vec![(0x4, 0, 0, 6), (HEADERS, 0x4, 1, 20), (DATA, END_STREAM, 1, 100), (PING, 0, 0, 8)];
        for piece in [1, 2, 5, 9, 10, 23, 24, 25, 1000] {
            let mut cursor = FrameCursor::after_preface();
            let mut seen = Vec::new();
            for chunk in stream.chunks(piece) {
                cursor.feed(chunk, |h| seen.push((h.kind, h.flags, h.stream, h.length)));
            }
            assert_eq!(seen, expected, "pieces of {piece}");
            assert!(cursor.at_boundary());
        }
    }

    #[test]
    fn knows_when_it_is_mid_frame() {
        let mut cursor = FrameCursor::frames();
        assert!(cursor.at_boundary());
        let bytes = frame(DATA, 0, 3, &[0; 10]);
        cursor.feed(&bytes[..4], |_| {});
        assert!(!cursor.at_boundary(), "mid header");
        assert_eq!(cursor.to_boundary(), 5);
        cursor.feed(&bytes[4..12], |_| {});
        assert!(!cursor.at_boundary(), "mid payload");
        assert_eq!(cursor.to_boundary(), 7);
        cursor.feed(&bytes[12..], |_| {});
        assert!(cursor.at_boundary());
    }

    #[test]
    fn a_goaway_frame_reads_back() {
        let bytes = goaway(5, 0xb, b"too_many_pings");
        let mut cursor = FrameCursor::frames();
        let mut seen = Vec::new();
        cursor.feed(&bytes, |h| seen.push(h));
        assert_eq!(seen, vec![FrameHeader { length: 22, kind: GOAWAY, flags: 0, stream: 0 }]);
        assert_eq!(&bytes[9..13], &5u32.to_be_bytes());
        assert_eq!(&bytes[13..17], &0xbu32.to_be_bytes());
        assert_eq!(&bytes[17..], b"too_many_pings");
    }
}
