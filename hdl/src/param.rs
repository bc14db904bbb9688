//! [`Param`]: a generator parameter held in the circuit.
//!
//! rust-hdl's `Constant` has no `Default` (a constant must be given its value), so
//! every block holding one had to spell out its whole constructor, one
//! `name: Default::default()` line per port and register. A `Param` is a
//! `Constant` that defaults to zero: a block derives `Default` and its constructor
//! sets only its parameters, by name. To rust-hdl it is the same atom: the
//! generated Verilog names it and declares it (`localparam`) exactly as it does a
//! `Constant`, and `self.p.val()` reads it in an HDL kernel.

use rust_hdl::prelude::*;

#[derive(Clone, Copy, Debug)]
pub struct Param<T: Synth>(Constant<T>);

impl<T: Synth> Param<T> {
    pub fn new(val: T) -> Self {
        Param(Constant::new(val))
    }

    /// The value (usable in HDL kernels).
    pub fn val(&self) -> T {
        self.0.val()
    }
}

impl<T: Synth> Default for Param<T> {
    fn default() -> Self {
        Param::new(T::default())
    }
}

impl<T: Synth> Logic for Param<T> {
    fn update(&mut self) {}
}

impl<T: Synth> Block for Param<T> {
    fn connect_all(&mut self) {
        self.0.connect_all()
    }

    fn update_all(&mut self) {
        self.0.update_all()
    }

    fn has_changed(&self) -> bool {
        self.0.has_changed()
    }

    fn accept(&self, name: &str, probe: &mut dyn Probe) {
        self.0.accept(name, probe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block with a parameter, deriving `Default`.
    #[derive(LogicBlock, Default)]
    struct AddParam {
        pub a: Signal<In, Bits<8>>,
        pub y: Signal<Out, Bits<8>>,
        k: Param<Bits<8>>,
    }

    impl Logic for AddParam {
        #[hdl_gen]
        fn update(&mut self) {
            self.y.next = self.a.val() + self.k.val();
        }
    }

    fn add(k: u64) -> AddParam {
        AddParam {
            k: Param::new(k.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_param_is_a_localparam_like_a_constant() {
        let mut uut = add(42);
        uut.connect_all();
        let v = generate_verilog(&uut);
        let words = v.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains("localparam k = 8'h2a;"), "{v}");
        assert!(words.contains("y = a + k;"), "{v}");
    }

    #[test]
    fn a_param_holds_its_value_in_simulation() {
        let mut sim: Simulation<AddParam> = Simulation::default();
        sim.add_testbench(|mut ep: Sim<AddParam>| {
            let mut x = ep.init()?;
            x.a.next = 13.into();
            x = ep.wait(1, x)?;
            sim_assert_eq!(ep, x.y.val(), 55, x);
            ep.done(x)
        });
        let mut uut = add(42);
        uut.connect_all();
        sim.run(Box::new(uut), 10).unwrap();
    }
}
