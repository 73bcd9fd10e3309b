//! What every client command starts from: a client for the server the
//! arguments name, with the token from `FAASRT_TOKEN` or the data
//! directory, and the future type the commands return.

use crate::ClientArgs;
use crate::client::Client;
use faasrt_runtime::DataDir;

/// What a client command returns: its exit code, once it ran.
pub(crate) type CommandFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<i32>>>>;

/// A client for the server `args` names, with the token if one is found.
pub(crate) fn client(args: &ClientArgs) -> anyhow::Result<Client> {
    Ok(Client::new(&args.server, token(args)?)?)
}

/// The token from `FAASRT_TOKEN`, else from the data directory, if any.
fn token(args: &ClientArgs) -> anyhow::Result<Option<String>> {
    if let Ok(token) = std::env::var("FAASRT_TOKEN")
        && !token.trim().is_empty()
    {
        return Ok(Some(token.trim().to_owned()));
    }
    if !args.data_dir.is_dir() {
        return Ok(None);
    }
    Ok(DataDir::open(&args.data_dir)?.read_token()?)
}
