//! The controller FSM's states, one per phase of a descriptor (the diagram of
//! the module's documentation, docs/controller.md).

use rust_hdl::prelude::*;

#[derive(Copy, Clone, Debug, PartialEq, LogicState)]
pub enum CtlState {
    Idle,
    Desc,
    Decode,
    MathSet,
    MathRun,
    MathStore,
    Regions,
    Fit,
    Act,
    Clr,
    TileStart,
    GAdv,
    Par,
    Wgt,
    PosStart,
    GrpStart,
    Grow,
    GPre,
    CoreGo,
    CoreRun,
    RunEnd,
    TileEnd,
    OutCmd,
    OutWr,
    OutWait,
    Next,
    Finish,
    Fail,
}
