//! Fuzz target `frame_decoder`: the wire protocol's frame decoder
//! (`core/src/protocol/frame.rs`: `Frame::decode` and the stream deframer `Decoder`)
//! and the message decoder behind it (`protocol::message::decode`), on arbitrary
//! bytes. Run: `cargo +nightly fuzz run frame_decoder` (docs/protocol.md).
//!
//! Properties (a failed assertion or a panic is a finding):
//! 1. `Frame::decode` never panics; a frame it accepts has a payload of at most
//!    `MAX_PAYLOAD` bytes, and encodes back
//!    to bytes that decode to the same frame.
//! 2. `Decoder::push` never panics, and its output does not depend on how the
//!    stream is split into reads (two chunks at a fuzzer-chosen point).
//! 3. A frame built from the input (kind, sequence number, payload) round-trips
//!    through `encode` and the deframer, also after arbitrary junk ended by a
//!    delimiter (resynchronization); its wire form has exactly one zero, at the end.
//! 4. `message::decode` of a payload never panics, and a `Request` or `Response` it
//!    accepts re-encodes to bytes that decode to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use spikeslice_core::protocol::frame::{Decoder, Frame, Kind, MAX_PAYLOAD, MAX_WIRE_FRAME};
use spikeslice_core::protocol::message::{self, Request, Response};

fn check_messages(payload: &[u8]) {
    if let Ok(r) = message::decode::<Request>(payload) {
        let again: Request = message::decode(&message::encode(&r)).expect("re-encoded request");
        assert_eq!(again, r);
    }
    if let Ok(r) = message::decode::<Response>(payload) {
        let again: Response = message::decode(&message::encode(&r)).expect("re-encoded response");
        assert_eq!(again, r);
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. One frame's COBS bytes.
    if let Ok(f) = Frame::decode(data) {
        assert!(f.payload.len() <= MAX_PAYLOAD, "payload over MAX_PAYLOAD");
        let wire = f.encode();
        assert_eq!(wire.last(), Some(&0));
        assert!(wire.len() <= MAX_WIRE_FRAME + 1);
        assert_eq!(Frame::decode(&wire[..wire.len() - 1]), Ok(f.clone()));
        check_messages(&f.payload);
    }

    // 2. A byte stream, whole and in two reads.
    let all = Decoder::new().push(data);
    let cut = data.first().map_or(0, |&b| b as usize * data.len() / 256);
    let mut d = Decoder::new();
    let mut split = d.push(&data[..cut]);
    split.extend(d.push(&data[cut..]));
    assert_eq!(all, split, "the output depends on how the stream is split");
    for f in all.iter().flatten() {
        assert!(
            f.payload.len() <= MAX_PAYLOAD,
            "deframer accepted a payload over MAX_PAYLOAD"
        );
        check_messages(&f.payload);
    }

    // 3. A frame made from the input, after junk that ends with a delimiter.
    if data.len() >= 3 {
        let kind = [Kind::Data, Kind::Ack, Kind::Nak][data[0] as usize % 3];
        let seq = u16::from_le_bytes([data[1], data[2]]);
        let payload = data[3..data.len().min(3 + MAX_PAYLOAD)].to_vec();
        let frame = Frame { kind, seq, payload };
        let wire = frame.encode();
        assert_eq!(wire.iter().filter(|&&b| b == 0).count(), 1);
        assert_eq!(wire.last(), Some(&0));
        assert_eq!(Decoder::new().push(&wire), vec![Ok(frame.clone())]);
        let mut stream = data[..data.len() / 2].to_vec();
        stream.push(0);
        stream.extend_from_slice(&wire);
        let got = Decoder::new().push(&stream);
        assert_eq!(
            got.last(),
            Some(&Ok(frame)),
            "no resynchronization after junk"
        );
    }
});
