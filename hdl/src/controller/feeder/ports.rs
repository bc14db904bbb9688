//! The feeder's two bundles to the FSM: a run's start and status
//! ([`TileRun`]), and the parameter registers' writes ([`ParamLoad`]).

use rust_hdl::prelude::*;

/// The FSM's side of a run, as the feeder sees it.
#[derive(LogicInterface, Default)]
pub struct TileRun {
    /// A new start of the controller: the failure flag and the counts clear.
    pub clear: Signal<In, Bit>,
    /// The FSM is in CoreGo: a run starts unless one is running or the last
    /// one failed.
    pub go: Signal<In, Bit>,
    /// The FSM is in GPre, or in Grow's last cycle with the core ready: once
    /// the core would take the run, read the first entry of the row just
    /// loaded.
    pub prime: Signal<In, Bit>,
    /// The tile and group of the run, taken at its start: first output column,
    /// valid columns, first output neuron, first output of the group, position.
    pub first_column: Signal<In, Bits<32>>,
    pub columns: Signal<In, Bits<32>>,
    pub first_neuron: Signal<In, Bits<32>>,
    pub group_start: Signal<In, Bits<32>>,
    pub position: Signal<In, Bits<32>>,
    /// The weight-bank and gather-row halves the FSM loads into; a run reads
    /// the halves loaded when it started.
    pub weight_half: Signal<In, Bit>,
    pub gather_half: Signal<In, Bit>,
    /// A run is going: from its start to the core's `done` (the last run's,
    /// where the core takes a run while the one before finishes its neuron
    /// steps).
    pub running: Signal<Out, Bit>,
    /// A start would be taken now: the core is ready for it (its feed machine
    /// idle; a run behind it only if the new run keeps the parameters), and no
    /// run failed.
    pub can_start: Signal<Out, Bit>,
    /// Emit beats are queued, not yet all in the output buffer.
    pub draining: Signal<Out, Bit>,
    /// The core reported an error at the end of the last run.
    pub failed: Signal<Out, Bit>,
    /// The parameter registers may be written: no run, or the running tile has
    /// taken its parameter beats.
    pub params_free: Signal<Out, Bit>,
}

/// A write of the parameter registers (the FSM's TileStart and Par).
#[derive(LogicInterface, Default)]
pub struct ParamLoad {
    /// Zero every column's parameters.
    pub clear: Signal<In, Bit>,
    /// Write `word` as parameter `field` (0 bias, 1 threshold, 2 v_init) of
    /// `column`.
    pub write: Signal<In, Bit>,
    pub column: Signal<In, Bits<8>>,
    pub field: Signal<In, Bits<2>>,
    pub word: Signal<In, Bits<32>>,
}
