//! The controller's FSM, the `Logic` of [`Controller`]: it keeps the order of the
//! phases (the state list is in the module documentation of `controller`), starts
//! the blocks' work, reports the first error and keeps the counters. The blocks'
//! datapaths are in their own files.

use super::*;

impl<const D: usize, const S: usize, const W2: usize, const MEM: usize> Logic
    for Controller<D, S, W2, MEM>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, window_size, desc_total, desc_idx);
        dff_setup!(self, clock, desc_at, done_flag, err_code, err_at);
        dff_setup!(
            self,
            clock,
            cycle_count,
            core_busy_cycles,
            slice_count,
            row_made
        );
        // The read phase's field, as a 32-bit word.
        self.field32.next = bit_cast::<32, 64>(self.read.data.val());
        // A gather row's entry: read, or generated (an im2col layer).
        self.row_entry.next = self.field32.val();
        if self.row_gen.take.val() {
            self.row_entry.next = bit_cast::<32, 64>(self.row_gen.data.val());
        }
        // The im2col row generator (im2col.rs), at the walk's window: a tile's
        // first row from the first cycle of its parameter load (it needs no
        // DMA; the walk set the window in PosStart and GrpStart), every later
        // row in Grow; once a row is made, until the run that reads it starts.
        self.row_gen.clock.next = self.clock.val();
        LayerFields::join(&mut self.desc.fields, &mut self.row_gen.layer);
        Sizes::join(&mut self.sizes.out, &mut self.row_gen.sizes);
        self.row_gen.active.next = self.desc.fields.im2col_layer.val()
            & !self.row_made.q.val()
            & ((self.state.q.val() == CtlState::Par)
                | (self.state.q.val() == CtlState::Wgt)
                | (self.state.q.val() == CtlState::Grow));
        if self.row_gen.done.val() {
            self.row_made.d.next = true;
        }
        if (self.state.q.val() == CtlState::CoreGo) | (self.state.q.val() == CtlState::Idle) {
            self.row_made.d.next = false;
        }
        self.row_gen.origin.next = self.walk.map_origin.val();
        self.row_gen.ys.next = self.walk.map_ys.val();
        self.row_gen.xs.next = self.walk.map_xs.val();
        // ---------------- The descriptor (descriptor.rs) ----------------
        self.desc.clock.next = self.clock.val();
        self.desc.restart.next = (self.state.q.val() == CtlState::Desc) & self.read.in_cmd.val();
        self.desc.take.next = (self.state.q.val() == CtlState::Desc) & self.read.take.val();
        self.desc.word.next = bit_cast::<32, 64>(self.read.data.val());
        // The math phase (sizes.rs): the FSM steps the sequence.
        self.sizes.clock.next = self.clock.val();
        LayerFields::join(&mut self.desc.fields, &mut self.sizes.layer);
        self.sizes.restart.next = self.state.q.val() == CtlState::Decode;
        self.sizes.load.next = self.state.q.val() == CtlState::MathSet;
        self.sizes.step.next = self.state.q.val() == CtlState::MathRun;
        self.sizes.store.next = self.state.q.val() == CtlState::MathStore;
        // The layer's checks (checks.rs).
        self.checks.clock.next = self.clock.val();
        LayerFields::join(&mut self.desc.fields, &mut self.checks.layer);
        Sizes::join(&mut self.sizes.out, &mut self.checks.sizes);
        self.checks.window_size.next = self.window_size.q.val();
        self.checks.descriptor_offset.next = self.desc_at.q.val();
        // A table row's entries (a generated row's are inputs or padding: the
        // checks refused a geometry whose maps do not fit the input); every
        // row starts clean.
        self.checks.entry_restart.next = ((self.state.q.val() == CtlState::Grow)
            & self.read.in_cmd.val())
            | self.row_gen.in_cmd.val();
        self.checks.entry_take.next = (self.state.q.val() == CtlState::Grow) & self.read.take.val();
        self.checks.entry.next = self.field32.val();
        self.checks.entry_index.next = self.loads.count.val();
        self.checks.row_offset.next = self.walk.row_at.val();

        // ---------------- Outputs and defaults ----------------
        self.busy.next = self.state.q.val() != CtlState::Idle;
        self.done.next = self.done_flag.q.val();
        self.error.next = self.err_code.q.val() != 0;
        self.error_code.next = self.err_code.q.val();
        self.desc_index.next = self.desc_idx.q.val();
        self.err_offset.next = self.err_at.q.val();
        self.cnt_clear.next = false;
        self.cnt_cycles.next = self.cycle_count.q.val();
        self.cnt_busy.next = self.core_busy_cycles.q.val();
        self.cnt_pe_adds.next = self.feeder.pe_adds.val();
        self.cnt_slices.next = self.slice_count.q.val();
        self.cnt_spikes.next = self.feeder.spikes.val();
        self.c_cfg_k.next = self.desc.fields.fan_in.val().get_bits::<16>(0);
        self.c_cfg_slices.next = self.sizes.out.slices.val().get_bits::<10>(0);
        self.c_cfg_b_in.next = self.desc.fields.input_bits.val();
        self.c_cfg_b_w.next = self.desc.fields.weight_bits.val();
        self.c_cfg_b_s.next = self.desc.fields.spike_bits.val();
        self.c_cfg_lif.next = self.desc.fields.leak_shift.val() != 0;
        self.c_cfg_leak.next = self.desc.fields.leak_shift.val();
        self.c_cfg_hard.next = self.desc.fields.hard_reset.val();
        self.c_cfg_readout.next = self.desc.fields.readout.val();
        // A static input's one timestep of slices serves all T timesteps
        // (T <= MAX_TIMESTEPS = 64, checked at Decode).
        self.c_cfg_repeats.next = 1.into();
        if self.desc.fields.static_input.val() {
            self.c_cfg_repeats.next = self.desc.fields.timesteps.val().get_bits::<7>(0);
        }

        // DMA reads: one read phase block for every phase (`read_phase.rs`); the
        // loads (loads.rs) set each phase up and take its fields.
        self.read.clock.next = self.clock.val();
        self.read.rst.next = self.rst.val();
        self.read.active.next = self.loads.active.val();
        self.read.drain.next = false;
        self.read.last.next = self.loads.last.val();
        self.read.offset.next = self.loads.offset.val();
        self.read.len.next = self.loads.len.val();
        self.read.field_bits.next = self.loads.field_bits.val();
        ReadClient::<D>::link(&mut self.dma_rd, &mut self.read.dma);
        self.loads.clock.next = self.clock.val();
        LayerFields::join(&mut self.desc.fields, &mut self.loads.layer);
        Sizes::join(&mut self.sizes.out, &mut self.loads.sizes);
        self.loads.state.next = self.state.q.val();
        self.loads.in_cmd.next = self.read.in_cmd.val();
        self.loads.take.next = self.read.take.val();
        self.loads.data.next = self.read.data.val();
        self.loads.done.next = self.read.done.val();
        self.loads.gen_take.next = self.row_gen.take.val();
        self.loads.gen_index.next = self.row_gen.entry_index.val();
        self.loads.descriptor_offset.next = self.desc_at.q.val();
        self.loads.descriptor_last.next = self.desc.last.val();
        self.loads.row_at.next = self.walk.row_at.val();
        self.loads.params_at.next = self.walk.params_at.val();
        self.loads.weights_at.next = self.walk.weights_at.val();
        self.loads.columns.next = self.walk.columns.val();
        self.loads.weight_half.next = self.walk.weight_half.val();
        self.loads.gather_half.next = self.walk.gather_half.val();
        // The write-back (writeback.rs): the FSM says which of its states it is in.
        self.writer.clock.next = self.clock.val();
        self.writer.issue.next = (self.state.q.val() == CtlState::OutCmd)
            & !self.feeder.run.failed.val()
            & !self.feeder.run.running.val()
            & !self.feeder.run.draining.val();
        self.writer.writing.next = self.state.q.val() == CtlState::OutWr;
        self.writer.offset.next = self.desc.fields.output_offset.val();
        self.writer.words.next = self.sizes.out.output_words.val();
        // A strided output: one plane per command (writeback.rs).
        self.writer.strided.next =
            (self.desc.fields.out_stride.val() != 0) & !self.desc.fields.readout.val();
        self.writer.stride.next = self.desc.fields.out_stride.val();
        self.writer.step_planes.next = self.desc.fields.out_step_planes.val();
        self.writer.spike_bits.next = self.desc.fields.spike_bits.val();
        self.writer.plane_words.next = self.sizes.out.out_plane_words.val();
        self.writer.restart.next = self.state.q.val() == CtlState::TileEnd;
        self.writer.advance.next = (self.state.q.val() == CtlState::OutWait)
            & self.writer.completed.val()
            & (self.writer.err_code.val() == 0)
            & self.writer.more.val();
        WriteClient::<D>::link(&mut self.dma_wr, &mut self.writer.dma);

        // Failure report (used by the transitions to Fail).
        self.fail_code.next = 0.into();
        self.fail_offset.next = 0.into();

        // The buffers' writes (the loads); the feeder drives their reads.
        self.weight_banks.clock.next = self.clock.val();
        for c in 0..self._cols {
            self.weight_banks.we[c].next = self.loads.weight_we[c].val();
            self.weight_banks.code[c].next = self.loads.weight_code[c].val();
            self.weight_banks.we_next[c].next = self.loads.weight_we_next[c].val();
            self.weight_banks.code_next[c].next = self.loads.weight_code_next[c].val();
        }
        self.weight_banks.waddr.next = self.loads.weight_addr.val();
        for r in 0..self._rows {
            self.act_banks[r].clock.next = self.clock.val();
            self.act_banks[r].we.next = self.loads.act_we[r].val();
            self.act_banks[r].waddr.next = self.loads.act_addr.val();
            self.act_banks[r].wdata.next = self.read.data.val();
        }
        self.row_buffer.clock.next = self.clock.val();
        self.row_buffer.we.next = self.loads.row_we.val();
        self.row_buffer.waddr.next = self.loads.row_addr.val();
        self.row_buffer.wdata.next = self.row_entry.val();
        // ---------------- The walk (walk.rs) ----------------
        self.walk.clock.next = self.clock.val();
        LayerFields::join(&mut self.desc.fields, &mut self.walk.layer);
        Sizes::join(&mut self.sizes.out, &mut self.walk.sizes);
        self.walk.state.next = self.state.q.val();
        self.walk.cleared.next = self.loads.cleared.val();
        self.walk.params_free.next = self.feeder.run.params_free.val();
        self.walk.run_started.next = self.feeder.core_start.val();

        // ---------------- The compute feeder (feeder.rs) ----------------
        // Independent of the FSM state but for the run's start (CoreGo) and the
        // gather row's priming (GPre).
        self.feeder.clock.next = self.clock.val();
        LayerFields::join(&mut self.desc.fields, &mut self.feeder.layer);
        Sizes::join(&mut self.sizes.out, &mut self.feeder.sizes);
        self.feeder.rst.next = self.rst.val();
        self.feeder.run.clear.next = (self.state.q.val() == CtlState::Idle) & self.start.val();
        self.feeder.run.go.next = self.state.q.val() == CtlState::CoreGo;
        // GPre, or Grow's last cycle when the core would take the run at once.
        self.row_done.next = self.read.done.val() | self.row_gen.done.val() | self.row_made.q.val();
        self.feeder.run.prime.next = (self.state.q.val() == CtlState::GPre)
            | ((self.state.q.val() == CtlState::Grow)
                & self.row_done.val()
                & !self.checks.entry_bad.val()
                & self.feeder.run.can_start.val());
        self.feeder.run.first_column.next = self.walk.first_column.val();
        self.feeder.run.columns.next = self.walk.columns.val();
        self.feeder.run.first_neuron.next = self.walk.first_neuron.val();
        self.feeder.run.group_start.next = self.walk.group_start.val();
        self.feeder.run.position.next = self.walk.position.val();
        self.feeder.run.weight_half.next = self.walk.weight_half.val();
        self.feeder.run.gather_half.next = self.walk.gather_half.val();
        self.feeder.params.clear.next = false;
        self.feeder.params.write.next = self.loads.param_write.val();
        self.feeder.params.column.next = self.loads.param_column.val();
        self.feeder.params.field.next = self.loads.param_field.val();
        self.feeder.params.word.next = self.field32.val();
        self.c_start.next = self.feeder.core_start.val();
        self.c_keep_params.next = self.feeder.core_keep_params.val();
        self.feeder.core_ready.next = self.c_ready.val();
        self.feeder.core_done.next = self.c_done.val();
        self.feeder.core_error.next = self.c_error.val();
        self.c_par_valid.next = self.feeder.par_valid.val();
        self.feeder.par_ready.next = self.c_par_ready.val();
        self.c_par_data.next = self.feeder.par_data.val();
        self.c_wgt_valid.next = self.feeder.wgt_valid.val();
        self.feeder.wgt_ready.next = self.c_wgt_ready.val();
        self.c_act_valid.next = self.feeder.act_valid.val();
        self.feeder.act_ready.next = self.c_act_ready.val();
        self.feeder.spk_valid.next = self.c_spk_valid.val();
        self.c_spk_ready.next = self.feeder.spk_ready.val();
        self.feeder.mem_valid.next = self.c_mem_valid.val();
        self.c_mem_ready.next = self.feeder.mem_ready.val();
        self.feeder.mem_data.next = self.c_mem_data.val();
        self.weight_banks.raddr.next = self.feeder.weight_addr.val();
        for c in 0..self._cols {
            self.c_wgt_data[c].next = self.weight_banks.rcode[c].val();
            self.feeder.spk_data[c].next = self.c_spk_data[c].val();
        }
        for r in 0..self._rows {
            self.act_banks[r].raddr.next = self.feeder.act_addr.val();
            self.feeder.act_words[r].next = self.act_banks[r].rdata.val();
            self.c_act_data[r].next = self.feeder.act_data[r].val();
        }
        self.row_buffer.raddr.next = self.feeder.gather_addr.val();
        self.feeder.gather_entry.next = self.row_buffer.rdata.val();
        // The output buffer: cleared beside the input planes' read (loads.rs),
        // written by the feeder, read by the write-back (the RAM's registered
        // output).
        self.out_addr.next = self.loads.clear_addr.val();
        if self.feeder.out_claim.val() {
            self.out_addr.next = self.feeder.out_addr.val();
        }
        self.out_write_all.next = self.feeder.out_write_word.val() | self.loads.clear_write.val();
        self.writer.word.next = self.out_buffer.rdata.val();

        // ---------------- FSM ----------------
        match self.state.q.val() {
            CtlState::Idle => {
                // Drain whatever a soft reset interrupted.
                self.read.drain.next = true;
                if self.start.val() {
                    self.cnt_clear.next = true;
                    self.window_size.d.next = self.buf_size.val();
                    self.desc_total.d.next = self.desc_count.val();
                    self.desc_at.d.next = self.desc_offset.val();
                    self.desc_idx.d.next = 0.into();
                    self.done_flag.d.next = false;
                    self.err_code.d.next = 0.into();
                    self.err_at.d.next = 0.into();
                    self.cycle_count.d.next = 0.into();
                    self.core_busy_cycles.d.next = 0.into();
                    self.slice_count.d.next = 0.into();
                    if self.desc_count.val() == 0 {
                        self.state.d.next = CtlState::Finish;
                    } else {
                        self.state.d.next = CtlState::Desc;
                    }
                }
            }
            CtlState::Desc => {
                if self.read.done.val() {
                    self.state.d.next = CtlState::Decode;
                }
            }
            CtlState::Decode => {
                if self.desc.bad_header.val() {
                    self.fail_code.next = 1.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.desc.bad_kind.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val() + 8;
                    self.state.d.next = CtlState::Fail;
                } else if self.desc.bad_field.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else {
                    self.state.d.next = CtlState::MathSet;
                }
            }
            CtlState::MathSet => {
                self.state.d.next = CtlState::MathRun;
            }
            CtlState::MathRun => {
                if self.sizes.step_last.val() {
                    self.state.d.next = CtlState::MathStore;
                }
            }
            CtlState::MathStore => {
                self.state.d.next = CtlState::MathSet;
                if self.sizes.last_op.val() {
                    self.state.d.next = CtlState::Regions;
                }
            }
            CtlState::Regions => {
                // The checks compare the final sizes; their results are
                // registered, read in Fit.
                self.state.d.next = CtlState::Fit;
            }
            CtlState::Fit => {
                if self.checks.region_fail.val() {
                    self.fail_code.next = self.checks.region_code.val();
                    self.fail_offset.next = self.checks.region_offset.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.checks.overflow.val() {
                    self.fail_code.next = 6.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else {
                    self.slice_count.d.next =
                        self.slice_count.q.val() + self.sizes.out.layer_slices.val();
                    self.state.d.next = CtlState::Act;
                }
            }
            CtlState::Act => {
                if self.read.done.val() {
                    self.state.d.next = CtlState::Clr;
                }
            }
            CtlState::Clr => {
                if self.loads.cleared.val() {
                    self.state.d.next = CtlState::TileStart;
                }
            }
            CtlState::TileStart => {
                // The running tile's parameters are consumed in its first 3C cycles;
                // only then may the next tile's overwrite them.
                if self.feeder.run.params_free.val() {
                    self.feeder.params.clear.next = true;
                    self.state.d.next = CtlState::GAdv;
                }
            }
            CtlState::GAdv => {
                // The tile's first group (the walk advances to it).
                if self.walk.group_ahead.val() {
                    self.state.d.next = CtlState::Par;
                    if self.desc.fields.gather_layer.val() {
                        self.state.d.next = CtlState::PosStart;
                    }
                }
            }
            CtlState::Par => {
                if self.read.done.val() {
                    // A spiking layer's thresholds must be positive (code 2, offset 0,
                    // as the functional model's layer check reports it).
                    if self.loads.params_bad.val() {
                        self.fail_code.next = 2.into();
                        self.fail_offset.next = 0.into();
                        self.state.d.next = CtlState::Fail;
                    } else {
                        self.state.d.next = CtlState::Wgt;
                    }
                }
            }
            CtlState::Wgt => {
                if self.read.done.val() {
                    if self.desc.fields.gather_layer.val() {
                        self.state.d.next = CtlState::Grow;
                    } else {
                        self.state.d.next = CtlState::CoreGo;
                    }
                }
            }
            CtlState::PosStart => {
                self.state.d.next = CtlState::GrpStart;
            }
            CtlState::GrpStart => {
                // A tile's first position: its loads come first (a gather
                // layer's walk sets the window before them).
                self.state.d.next = CtlState::Grow;
                if self.walk.position.val() == 0 {
                    self.state.d.next = CtlState::Par;
                }
            }
            CtlState::Grow => {
                // Every entry of a table row goes through the checks; a row with a
                // bad one is not run (code 2 at the first bad entry). A run behind
                // it finishes first (Fail waits for the feeder).
                if self.row_done.val() {
                    if self.checks.entry_bad.val() {
                        self.fail_code.next = 2.into();
                        self.fail_offset.next = self.checks.entry_bad_offset.val();
                        self.state.d.next = CtlState::Fail;
                    } else {
                        // Primed in this cycle if the core would take the run.
                        self.state.d.next = CtlState::GPre;
                        if self.feeder.run.can_start.val() {
                            self.state.d.next = CtlState::CoreGo;
                        }
                    }
                }
            }
            CtlState::GPre => {
                // The feeder primes the row pipeline at the new row's entry 0: only
                // once the core would take the run, its beats from the other half
                // over.
                if self.feeder.run.can_start.val() {
                    self.state.d.next = CtlState::CoreGo;
                }
            }
            CtlState::CoreGo => {
                // With double buffering the previous run may still be going: wait
                // until the core would take this one (`TileRun::can_start`).
                if self.feeder.run.failed.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.feeder.run.can_start.val() {
                    // The feeder starts the run (`run.go`).
                    self.state.d.next = CtlState::CoreRun;
                    if self.walk.double_buffer.val() {
                        // Go on loading while this run goes: the next tile's parameters
                        // and weights (dense), the next gather row (gather, into the
                        // other half; the walk takes RunEnd's step in this cycle).
                        self.state.d.next = CtlState::TileEnd;
                        if self.desc.fields.gather_layer.val()
                            & (self.walk.more_groups.val() | !self.walk.last_position.val())
                        {
                            self.state.d.next = CtlState::Grow;
                        }
                    }
                }
            }
            CtlState::CoreRun => {
                // The feeder runs the tile; wait for it.
                if self.c_done.val() {
                    if self.c_error.val() {
                        self.fail_code.next = 2.into();
                        self.fail_offset.next = self.desc_at.q.val();
                        self.state.d.next = CtlState::Fail;
                    } else if self.desc.fields.gather_layer.val() {
                        self.state.d.next = CtlState::RunEnd;
                    } else {
                        self.state.d.next = CtlState::TileEnd;
                    }
                }
            }
            CtlState::RunEnd => {
                // Next group of the tile at this position, else the next position.
                if self.walk.more_groups.val() {
                    self.state.d.next = CtlState::Grow;
                } else if self.walk.last_position.val() {
                    self.state.d.next = CtlState::TileEnd;
                } else {
                    self.state.d.next = CtlState::GrpStart;
                }
            }
            CtlState::TileEnd => {
                if self.walk.last_tile.val() {
                    self.state.d.next = CtlState::OutCmd;
                } else {
                    self.state.d.next = CtlState::TileStart;
                }
            }
            CtlState::OutCmd => {
                // The last tile's spikes must be in the output buffer first: the
                // run done and the spike queue written.
                if self.feeder.run.failed.val() {
                    self.fail_code.next = 2.into();
                    self.fail_offset.next = self.desc_at.q.val();
                    self.state.d.next = CtlState::Fail;
                } else if self.writer.accepted.val() {
                    self.state.d.next = CtlState::OutWr;
                }
            }
            CtlState::OutWr => {
                self.out_addr.next = self.writer.read_addr.val();
                if self.writer.sent.val() {
                    self.state.d.next = CtlState::OutWait;
                }
            }
            CtlState::OutWait => {
                if self.writer.completed.val() {
                    if self.writer.err_code.val() != 0 {
                        self.fail_code.next = self.writer.err_code.val();
                        self.fail_offset.next = self.writer.err_offset.val();
                        self.state.d.next = CtlState::Fail;
                    } else if self.writer.more.val() {
                        // The next plane of a strided output.
                        self.state.d.next = CtlState::OutCmd;
                    } else {
                        self.state.d.next = CtlState::Next;
                    }
                }
            }
            CtlState::Next => {
                self.desc_idx.d.next = self.desc_idx.q.val() + 1;
                self.desc_at.d.next = self.desc_at.q.val() + 64;
                if self.desc_idx.q.val() + 1 == self.desc_total.q.val() {
                    self.state.d.next = CtlState::Finish;
                } else {
                    self.state.d.next = CtlState::Desc;
                }
            }
            CtlState::Finish => {
                self.desc_idx.d.next = self.desc_total.q.val();
                self.done_flag.d.next = true;
                self.state.d.next = CtlState::Idle;
            }
            CtlState::Fail => {
                // A load that failed behind a running tile: let the tile finish, as
                // it would have before the load was started.
                if !self.feeder.run.running.val() {
                    self.done_flag.d.next = true;
                    self.state.d.next = CtlState::Idle;
                }
            }
        }
        // A read phase that fails ends the run with the DMA's code and offset (a
        // refused descriptor read names the descriptor itself).
        if self.read.failed.val() {
            self.fail_code.next = self.read.err_code.val();
            self.fail_offset.next = self.read.err_offset.val();
            if (self.state.q.val() == CtlState::Desc) & (self.read.err_code.val() == 3) {
                self.fail_offset.next = self.desc_at.q.val();
            }
            self.state.d.next = CtlState::Fail;
        }
        if self.fail_code.val() != 0 {
            self.err_code.d.next = self.fail_code.val();
            self.err_at.d.next = self.fail_offset.val();
        }
        // A word-wide write enables every bit, spike bits their own.
        self.out_buffer.clock.next = self.clock.val();
        self.out_buffer.addr.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.out_addr.val());
        self.out_buffer.addr_b.next = bit_cast::<BRAM_ADDR_BITS, 32>(self.feeder.out_addr_b.val());
        self.out_buffer.wmask_b.next = self.feeder.out_mask_b.val();
        self.out_buffer.wdata_b.next = self.feeder.out_word_b.val();
        self.out_buffer.wmask.next = self.feeder.out_mask.val();
        if self.out_write_all.val() {
            self.out_buffer.wmask.next = !bits::<64>(0);
        }
        self.out_buffer.wdata.next = self.feeder.out_word.val();
        // Counters.
        if self.state.q.val() != CtlState::Idle {
            self.cycle_count.d.next = self.cycle_count.q.val() + 1;
        }
        if self.c_busy.val() {
            self.core_busy_cycles.d.next = self.core_busy_cycles.q.val() + 1;
        }
        if self.rst.val() {
            self.state.d.next = CtlState::Idle;
            self.done_flag.d.next = false;
            self.err_code.d.next = 0.into();
            self.err_at.d.next = 0.into();
            self.desc_idx.d.next = 0.into();
            self.cycle_count.d.next = 0.into();
            self.core_busy_cycles.d.next = 0.into();
            self.slice_count.d.next = 0.into();
            self.row_made.d.next = false;
        }
    }
}
