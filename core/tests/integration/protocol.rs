//! The wire protocol over a faulty link: flipped bytes and dropped frames are
//! repaired, nothing is corrupted, duplicated or reordered; the frame decoder
//! never panics on arbitrary bytes (a proptest corpus here; the cargo-fuzz
//! target `fuzz/fuzz_targets/frame_decoder.rs` explores further, see
//! docs/protocol.md).

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikeslice_core::protocol::frame::{Decoder, Frame, MAX_PAYLOAD};
use spikeslice_core::protocol::message::{self, Request, Response};
use spikeslice_core::protocol::{Link, LinkError};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// One end of an in-memory byte pipe whose writes may be corrupted or lost.
struct FaultyEnd {
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    pending: VecDeque<u8>,
    rng: ChaCha8Rng,
    flip: f64,
    drop: f64,
}

impl Write for FaultyEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.rng.gen_bool(self.drop) {
            return Ok(buf.len()); // the frame is lost on the wire
        }
        let mut bytes = buf.to_vec();
        for b in bytes.iter_mut() {
            if self.rng.gen_bool(self.flip) {
                *b ^= 1 << self.rng.gen_range(0..8);
            }
        }
        self.tx
            .send(bytes)
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for FaultyEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            match self.rx.recv_timeout(Duration::from_millis(5)) {
                Ok(b) => self.pending.extend(b),
                Err(RecvTimeoutError::Timeout) => return Err(io::ErrorKind::TimedOut.into()),
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len());
        for (i, b) in self.pending.drain(..n).enumerate() {
            buf[i] = b;
        }
        Ok(n)
    }
}

fn pipe(seed: u64, flip: f64, drop: f64) -> (FaultyEnd, FaultyEnd) {
    let (a_tx, b_rx) = channel();
    let (b_tx, a_rx) = channel();
    let end = |tx, rx, s| FaultyEnd {
        tx,
        rx,
        pending: VecDeque::new(),
        rng: ChaCha8Rng::seed_from_u64(s),
        flip,
        drop,
    };
    (end(a_tx, a_rx, seed), end(b_tx, b_rx, seed ^ 0xFFFF))
}

/// An echo server: answers every request with its payload reversed.
fn serve_echo(end: FaultyEnd, count: usize) -> std::thread::JoinHandle<Result<(), LinkError>> {
    std::thread::spawn(move || {
        let mut link = Link::new(end);
        link.ack_timeout = Duration::from_millis(50);
        link.max_attempts = 60;
        for _ in 0..count {
            let mut p = link.recv(Duration::from_secs(20))?;
            p.reverse();
            link.send(&p)?;
        }
        // Keep answering retransmissions of the last request until the client hangs up.
        while link.recv(Duration::from_millis(300)).is_ok() {}
        Ok(())
    })
}

fn exchange(seed: u64, flip: f64, drop: f64, count: usize) {
    let (client_end, server_end) = pipe(seed, flip, drop);
    let server = serve_echo(server_end, count);
    let mut link = Link::new(client_end);
    link.ack_timeout = Duration::from_millis(50);
    link.max_attempts = 60;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in 0..count {
        let len = rng.gen_range(0..3000);
        let payload: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        link.send(&payload)
            .unwrap_or_else(|e| panic!("seed {seed}, message {i}: {e}"));
        let mut back = link.recv(Duration::from_secs(20)).unwrap();
        back.reverse();
        assert_eq!(back, payload, "seed {seed}, message {i} corrupted");
    }
    if flip > 0.0 || drop > 0.0 {
        assert!(
            link.stats.retransmits > 0,
            "faults were injected but nothing was retransmitted"
        );
    }
    drop_link(link);
    server.join().unwrap().unwrap();
}

fn drop_link<T>(_: T) {}

#[test]
fn a_clean_link_delivers_in_order() {
    exchange(1, 0.0, 0.0, 50);
}

#[test]
fn flipped_bytes_and_dropped_frames_are_repaired() {
    for seed in 0..4 {
        // About one frame in four corrupted (3000-byte payloads at 1e-4 per
        // byte) and one in twenty lost: far worse than a real serial line.
        exchange(seed, 0.0001, 0.05, 40);
    }
}

#[test]
fn a_closed_link_is_an_error_not_a_hang() {
    let (client_end, server_end) = pipe(9, 0.0, 0.0);
    drop(server_end);
    let mut link = Link::new(client_end);
    link.ack_timeout = Duration::from_millis(10);
    link.max_attempts = 3;
    match link.send(b"hello") {
        Err(LinkError::Closed) | Err(LinkError::NoAck { .. }) | Err(LinkError::Io(_)) => {}
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_dead_link_gives_up_with_advice() {
    let (client_end, _server_end) = pipe(4, 0.0, 1.0);
    let mut link = Link::new(client_end);
    link.ack_timeout = Duration::from_millis(5);
    link.max_attempts = 4;
    let e = link.send(b"anyone?").unwrap_err();
    assert!(matches!(e, LinkError::NoAck { attempts: 4 }), "{e}");
    assert!(e.to_string().contains("spikeslice-fw"), "{e}");
}

#[test]
fn oversize_payloads_are_refused_before_sending() {
    let (client_end, _server_end) = pipe(3, 0.0, 0.0);
    let mut link = Link::new(client_end);
    let e = link.send(&vec![0u8; MAX_PAYLOAD + 1]).unwrap_err();
    assert!(matches!(e, LinkError::TooLarge { .. }), "{e}");
}

#[test]
fn messages_round_trip_and_garbage_is_malformed() {
    let r = Request::Upload {
        offset: 4096,
        data: vec![1, 2, 3],
    };
    assert_eq!(message::decode::<Request>(&message::encode(&r)).unwrap(), r);
    let h = Response::Hello {
        protocol: 1,
        id: 0x5350_4B53,
        version: 0x10000,
        config: vec![(8, 0x0008_0008)],
        window_bytes: 1 << 20,
    };
    assert_eq!(
        message::decode::<Response>(&message::encode(&h)).unwrap(),
        h
    );
    assert!(message::decode::<Request>(&[0xFF, 0xFF, 0xFF]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes never panic the decoder, and frames that follow the
    /// garbage (after a delimiter) still decode.
    #[test]
    fn decoder_survives_arbitrary_bytes(garbage in proptest::collection::vec(any::<u8>(), 0..4096),
                                        seq in any::<u16>(), payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut d = Decoder::new();
        let _ = d.push(&garbage);
        let f = Frame::data(seq, payload);
        let mut stream = vec![0u8];
        stream.extend(f.encode());
        let got = d.push(&stream);
        prop_assert_eq!(got.last().cloned(), Some(Ok(f)));
    }

    #[test]
    fn frames_round_trip(seq in any::<u16>(), payload in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let f = Frame::data(seq, payload);
        prop_assert_eq!(Decoder::new().push(&f.encode()), vec![Ok(f)]);
    }
}
