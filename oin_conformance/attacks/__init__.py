"""Attack mutators: small named objects that turn a genuine protocol message into a hostile one."""
