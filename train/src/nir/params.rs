//! Typed access to a NIR node's fields, with errors that name the node and
//! field: numbers, integer pairs (stride, padding) and per-channel values.

use super::read::{Array, Field, RawNode};
use super::NirError;

/// A node under import: its name (for errors) and its raw fields.
pub struct Node<'a> {
    pub name: &'a str,
    pub raw: &'a RawNode,
}

impl<'a> Node<'a> {
    pub fn err(&self, message: impl Into<String>) -> NirError {
        NirError::Node {
            node: format!("{} ({})", self.name, self.raw.kind),
            message: message.into(),
        }
    }

    /// A numeric field that must be present.
    pub fn array(&self, field: &str) -> Result<&'a Array, NirError> {
        match self.raw.fields.get(field) {
            Some(Field::Numbers(a)) => Ok(a),
            Some(_) => Err(self.err(format!("field `{field}` is not numeric"))),
            None => Err(self.err(format!("field `{field}` is missing"))),
        }
    }

    /// A numeric field that may be absent.
    pub fn optional(&self, field: &str) -> Result<Option<&'a Array>, NirError> {
        match self.raw.fields.get(field) {
            None => Ok(None),
            Some(_) => self.array(field).map(Some),
        }
    }

    /// A text field, if the field is text.
    pub fn text(&self, field: &str) -> Option<&'a str> {
        match self.raw.fields.get(field) {
            Some(Field::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Every value finite, or an error naming the first that is not.
    pub fn finite(&self, field: &str, a: &Array) -> Result<(), NirError> {
        match a.values.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(i) => Err(self.err(format!(
                "field `{field}` has a NaN or infinite value at flat index {i}"
            ))),
        }
    }

    /// A non-negative integer field: a scalar.
    pub fn count(&self, field: &str) -> Result<usize, NirError> {
        let a = self.array(field)?;
        match a.values.as_slice() {
            [v] if *v >= 0.0 && v.fract() == 0.0 => Ok(*v as usize),
            _ => Err(self.err(format!(
                "field `{field}` = {:?}, expected one non-negative integer",
                a.values
            ))),
        }
    }

    /// A pair of non-negative integers given as a scalar or a 2-vector
    /// (stride, padding, kernel size). `None` when absent.
    pub fn pair(&self, field: &str) -> Result<Option<[usize; 2]>, NirError> {
        let Some(a) = self.optional(field)? else {
            return Ok(None);
        };
        let ints: Option<Vec<usize>> = a
            .values
            .iter()
            .map(|&v| (v >= 0.0 && v.fract() == 0.0).then_some(v as usize))
            .collect();
        match ints.as_deref() {
            Some([v]) => Ok(Some([*v, *v])),
            Some([a, b]) => Ok(Some([*a, *b])),
            _ => Err(self.err(format!(
                "field `{field}` = {:?}, expected one or two non-negative integers",
                a.values
            ))),
        }
    }

    /// A per-neuron parameter reduced to one value per output channel:
    /// given per neuron (`channels * positions` values, channel-major), per
    /// channel, or as one scalar; it must not vary within a channel, since
    /// the integer model has one per output channel. `default` is used when
    /// the field is absent (`None`: it is required).
    pub fn per_channel(
        &self,
        field: &str,
        channels: usize,
        positions: usize,
        default: Option<f64>,
    ) -> Result<Vec<f64>, NirError> {
        let Some(a) = self.optional(field)? else {
            return default
                .map(|d| vec![d; channels])
                .ok_or_else(|| self.err(format!("field `{field}` is missing")));
        };
        self.finite(field, a)?;
        let n = a.len();
        if n == 1 {
            return Ok(vec![a.values[0]; channels]);
        }
        if n == channels {
            return Ok(a.values.clone());
        }
        if n != channels * positions {
            return Err(self.err(format!(
                "field `{field}` has {n} values (shape {:?}); the layer has {channels} channels of {positions} neurons",
                a.shape
            )));
        }
        let mut out = Vec::with_capacity(channels);
        for (c, chunk) in a.values.chunks_exact(positions).enumerate() {
            let first = chunk[0];
            if let Some(v) = chunk.iter().find(|v| !close(**v, first)) {
                return Err(self.err(format!(
                    "field `{field}` varies within channel {c} ({first} and {v}): the integer model has one value per output channel"
                )));
            }
            out.push(first);
        }
        Ok(out)
    }
}

/// Equal up to float32 rounding.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}
