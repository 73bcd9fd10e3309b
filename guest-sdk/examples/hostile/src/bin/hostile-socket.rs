//! Opens a TCP socket and connects it to 127.0.0.1:9; exits 1 if the socket is refused.
//!
//! Guest: native.
//!
//! Prints what `socket(AF_INET, SOCK_STREAM)` returned and, if it gave a
//! socket, what `connect` to the discard port did (most likely
//! `ECONNREFUSED`, which still means the network was reachable). Exits 0
//! when it got a socket at all: a sandbox that denies networking refuses
//! the socket itself. On wasm it is an empty `main`.

#[cfg(unix)]
fn main() {
    use std::io::{self, Write};

    use faasrt_guest::Error;
    use faasrt_hostile::describe;

    faasrt_guest::run(|| {
        let mut output = faasrt_guest::output();
        // SAFETY: socket takes no pointers.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        if fd < 0 {
            let error = describe(&io::Error::last_os_error());
            writeln!(output, "socket(AF_INET, SOCK_STREAM): {error}")?;
            return Err(Error::failed(format!("socket refused: {error}")));
        }
        writeln!(output, "socket(AF_INET, SOCK_STREAM): ok, fd {fd}")?;
        let address = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 9u16.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `address` is a valid sockaddr_in and the length is its size.
        let connected = unsafe {
            libc::connect(
                fd,
                (&raw const address).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if connected == 0 {
            writeln!(output, "connect 127.0.0.1:9: ok")?;
        } else {
            let error = describe(&io::Error::last_os_error());
            writeln!(output, "connect 127.0.0.1:9: {error}")?;
        }
        // SAFETY: `fd` is the socket opened above, closed once.
        unsafe { libc::close(fd) };
        Ok(())
    });
}

#[cfg(not(unix))]
fn main() {}
