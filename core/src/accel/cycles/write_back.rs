//! The cycles of a write-back command (`hdl/src/controller/writeback.rs`
//! behind the DMA's write engine, `hdl/src/dma.rs`): a walk of the writer's
//! registers and the engine's bursts, cycle by cycle, for a memory that
//! takes every beat and answers every burst `L` cycles after its last beat.
//!
//! From OutWr's first cycle (0): the writer reads word i of the output buffer
//! in cycle i unless reading has stopped, and the word arrives a cycle later
//! in the beat it assembles (`wpb` words a beat). A beat that is full (or
//! holds the last word) goes to the DMA's beat register in that cycle if the
//! register is free (empty, or its beat taken in that cycle), else waits in
//! the assembly, and reading stops while a beat will wait there. The engine
//! takes the register's beat from cycle 2 (command, check, address), and
//! after a burst's last beat at `h` it waits for the response, sends the next
//! burst's address and takes its first beat from `h + L + 2`. OutWr ends the
//! cycle after the last beat, OutWait `L + 1` cycles later.

/// Cycles from OutCmd's cycle to OutWait's last of a command of `words`
/// 64-bit words, `words_per_beat` a beat, sent in bursts of the given beats
/// (in order; they must add up to the command's beats).
pub fn write_command_cycles(words: u64, words_per_beat: u64, bursts: &[u64], latency: u64) -> u64 {
    let beats = words.div_ceil(words_per_beat);
    debug_assert_eq!(bursts.iter().sum::<u64>(), beats, "bursts cover the beats");
    if beats == 0 {
        // The engine finds nothing to send; OutWr ends in its first cycle.
        return latency + 3;
    }
    let (mut read, mut arriving) = (0u64, false);
    let (mut assembled, mut held, mut offered) = (0u64, false, false);
    let (mut burst, mut left, mut data_from) = (0usize, bursts[0], 2u64);
    let mut taken = 0u64;
    let mut cycle = 0u64;
    loop {
        let take = offered && cycle >= data_from;
        if take {
            taken += 1;
            if taken == beats {
                // OutCmd, OutWr up to the cycle after `cycle`, OutWait.
                return 1 + (cycle + 2) + latency + 1;
            }
            left -= 1;
            if left == 0 {
                burst += 1;
                left = bursts[burst];
                data_from = cycle + latency + 2;
            }
        }
        let free = !offered || take;
        let (mut offered_next, mut held_next) = (offered && !take, held);
        if held && free {
            offered_next = true;
            held_next = false;
        }
        if arriving {
            assembled += 1;
            if assembled == words_per_beat || read == words {
                assembled = 0;
                if free && !held {
                    offered_next = true;
                } else {
                    held_next = true;
                }
            }
        }
        arriving = !held_next && read < words;
        read += u64::from(arriving);
        (offered, held) = (offered_next, held_next);
        cycle += 1;
    }
}

/// The bursts of `beats` beats at most `max_burst` each.
pub fn bursts_of(beats: u64, max_burst: u64) -> Vec<u64> {
    let mut out = vec![max_burst; (beats / max_burst) as usize];
    if !beats.is_multiple_of(max_burst) {
        out.push(beats % max_burst);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With nothing stalling, the last of `w` words goes at `w + 1`: a word a
    /// cycle whatever the beat width.
    #[test]
    fn a_single_burst_sends_a_word_a_cycle() {
        for wpb in [1, 2] {
            for w in 1..40u64 {
                let beats = w.div_ceil(wpb);
                assert_eq!(write_command_cycles(w, wpb, &[beats], 40), 1 + (w + 3) + 41);
            }
        }
    }

    /// A burst boundary: the writer fills its two beat registers while the
    /// engine waits for the response, so the next burst's first two beats go
    /// at `h + L + 2` and the cycle after, and the words after them a word a
    /// cycle again (at 2 words a beat, the next beat's first word is read when
    /// the held beat moves on).
    #[test]
    fn a_burst_boundary_costs_the_response_less_what_was_read_ahead() {
        let l = 40;
        // 8 words, 1 a beat, bursts of 4: the first burst's last beat at 5.
        let h0 = 5;
        // Beats 4 and 5 at h0 + L + 2 and + 1; beats 6, 7 read from then on.
        let h = h0 + l + 2 + 3;
        assert_eq!(write_command_cycles(8, 1, &[4, 4], l), h + l + 4);
        // 16 words, 2 a beat, bursts of 4 beats: the first burst's last beat at
        // 2 * 4 + 1; then beats 4, 5 at h0 + L + 2, + 1; beat 6's words are
        // read from h0 + L + 2 and it goes at + 3, beat 7 at + 5.
        let h0 = 9;
        let h = h0 + l + 2 + 5;
        assert_eq!(write_command_cycles(16, 2, &[4, 4], l), h + l + 4);
    }

    #[test]
    fn bursts_cover_the_beats() {
        assert_eq!(bursts_of(10, 4), vec![4, 4, 2]);
        assert_eq!(bursts_of(8, 4), vec![4, 4]);
        assert_eq!(bursts_of(3, 256), vec![3]);
    }
}
