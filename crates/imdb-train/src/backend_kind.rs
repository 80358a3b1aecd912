//! Which Burn backend runs the model: compiled in by cargo feature, chosen at run time.

use crate::error::{Result, TrainError};
use burn::tensor::Device;
use std::fmt;

/// The backends this crate can be built with (named apart from Burn's `Backend` trait, which
/// this is not: it picks one of Burn's devices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendKind {
    /// burn-flex: Burn 0.22's pure-Rust CPU backend (feature `flex`, the default).
    Flex,
    /// burn-ndarray: the older CPU backend (feature `ndarray`).
    NdArray,
    /// burn-wgpu: the GPU through Vulkan/Metal/DX12 (feature `wgpu`).
    Wgpu,
}

impl BackendKind {
    /// Backends compiled into this build, preferred first: the GPU if built, then Flex, then NdArray.
    pub fn compiled() -> Vec<BackendKind> {
        let mut v = Vec::new();
        if cfg!(feature = "wgpu") {
            v.push(BackendKind::Wgpu);
        }
        if cfg!(feature = "flex") {
            v.push(BackendKind::Flex);
        }
        if cfg!(feature = "ndarray") {
            v.push(BackendKind::NdArray);
        }
        v
    }

    /// The backend named by `name` (`flex`, `ndarray`, `wgpu`), else `$BURN_DEVICE`, else the
    /// first of [`BackendKind::compiled`].
    ///
    /// # Errors
    /// [`TrainError::Device`] for an unknown name or one this build lacks (naming the feature).
    pub fn select(name: Option<&str>) -> Result<BackendKind> {
        let env = std::env::var("BURN_DEVICE").ok().filter(|v| !v.is_empty());
        match name.map(str::to_owned).or(env) {
            Some(name) => BackendKind::from_name(&name),
            None => BackendKind::compiled()
                .first()
                .copied()
                .ok_or_else(|| TrainError::Device {
                    name: "(default)".into(),
                    reason:
                        "no backend compiled in: enable the cargo feature flex, ndarray or wgpu"
                            .into(),
                }),
        }
    }

    fn from_name(name: &str) -> Result<BackendKind> {
        let backend = match name.to_ascii_lowercase().as_str() {
            "flex" | "cpu" => BackendKind::Flex,
            "ndarray" => BackendKind::NdArray,
            "wgpu" | "gpu" => BackendKind::Wgpu,
            _ => {
                return Err(TrainError::Device {
                    name: name.into(),
                    reason: "expected flex, ndarray or wgpu".into(),
                });
            }
        };
        if BackendKind::compiled().contains(&backend) {
            Ok(backend)
        } else {
            Err(TrainError::Device {
                name: name.into(),
                reason: format!(
                    "this build lacks it: rebuild with `--features {}`",
                    backend.feature()
                ),
            })
        }
    }

    /// The cargo feature that compiles this backend in.
    pub fn feature(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::NdArray => "ndarray",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// Whether the backend's tensors live in the CPU's memory (Flex, NdArray), so loops on the
    /// CPU can work on them without a transfer.
    pub fn is_cpu(self) -> bool {
        matches!(self, BackendKind::Flex | BackendKind::NdArray)
    }

    /// The (non-autodiff) device of this backend.
    ///
    /// # Panics
    /// If the backend is not compiled in (use [`BackendKind::select`] to get one that is).
    #[allow(deprecated)] // Device::ndarray: NdArray is deprecated in Burn 0.22 but the study compares it.
    pub fn device(self) -> Device {
        match self {
            #[cfg(feature = "flex")]
            BackendKind::Flex => Device::flex(),
            #[cfg(feature = "ndarray")]
            BackendKind::NdArray => Device::ndarray(),
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
            #[allow(unreachable_patterns)]
            other => panic!(
                "backend {other} is not compiled in (cargo feature {})",
                other.feature()
            ),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.feature())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_features() {
        assert_eq!(
            BackendKind::from_name("FLEX").ok(),
            cfg!(feature = "flex").then_some(BackendKind::Flex)
        );
        assert!(matches!(
            BackendKind::from_name("tpu"),
            Err(TrainError::Device { .. })
        ));
        if !cfg!(feature = "wgpu") {
            let err = BackendKind::from_name("wgpu").unwrap_err().to_string();
            assert!(err.contains("--features wgpu"), "{err}");
        }
        assert_eq!(
            BackendKind::select(Some("flex")).ok(),
            cfg!(feature = "flex").then_some(BackendKind::Flex)
        );
    }
}
