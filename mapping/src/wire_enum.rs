//! Open newtype wire enums (DESIGN.md practice 6).
//!
//! A wire value is a newtype over its integer so that values we do not know pass
//! through untouched; the values we do know get named constants, and `Debug`/`Display`
//! print the name (or the number when unknown).

/// Declares an open newtype enum over an integer with named constants.
///
/// ```
/// mapping::wire_enum! {
///     /// Example.
///     pub struct Colour(u8) {
///         /// Red.
///         RED = 1 => "red",
///         /// Green.
///         GREEN = 2 => "green",
///     }
/// }
/// assert_eq!(Colour::RED.name(), Some("red"));
/// assert_eq!(format!("{}", Colour(9)), "9");
/// ```
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $val:expr => $text:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(pub $repr);

        #[allow(dead_code)]
        impl $name {
            $( $(#[$cmeta])* pub const $const: $name = $name($val); )*

            /// Every named value, in declaration order.
            pub const KNOWN: &'static [$name] = &[ $( $name($val) ),* ];

            /// The standard's name for this value, if it is one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( v if v == $val => Some($text), )*
                    _ => None,
                }
            }

            /// True when this value has a named constant.
            pub fn is_known(self) -> bool {
                self.name().is_some()
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.0),
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                $name(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v.0
            }
        }
    };
}
