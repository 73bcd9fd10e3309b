//! `hello [NAME]`: greets NAME, or the world.

use std::io::{self, Write};

/// Writes `Hello, <name>!` and a newline, with `world` when no name is given.
/// Only the first argument counts; the input is not read.
///
/// # Errors
///
/// Returns the error of the failed write.
pub fn run(args: &[String], mut output: impl Write) -> io::Result<()> {
    let name = args.first().map_or("world", String::as_str);
    writeln!(output, "Hello, {name}!")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut out = Vec::new();
        run(&args, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn greets_the_first_argument() {
        assert_eq!(hello(&["faasrt", "ignored"]), "Hello, faasrt!\n");
    }

    #[test]
    fn greets_the_world_without_arguments() {
        assert_eq!(hello(&[]), "Hello, world!\n");
    }
}
