//! The command line of `ax` (clap derive). No flag takes a secret value: a value is read from
//! stdin, `--value-file` or a masked prompt (see `value`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `ax`: manage the secrets, configs, environments, audit and API tokens of an ax-secrets
/// control plane over its HTTPS management API.
#[derive(Debug, Parser)]
#[command(
    name = "ax",
    version,
    after_help = "Exit codes: 0 ok, 1 other API error, 64 usage, 65 bad input, \
                  69 control plane unreachable, 77 refused (401/403).\n\
                  A secret's value is read from stdin, --value-file or a masked prompt; never \
                  from the command line."
)]
pub struct Cli {
    /// The control plane's URL (`https://host:port`).
    #[arg(long, env = "AX_URL", global = true)]
    pub url: Option<String>,
    /// A file whose first line is the API token (`AX_TOKEN` may hold the token itself).
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// The control plane's CA certificate (PEM).
    #[arg(long, env = "AX_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
    /// A control plane's state directory: url, admin-token and ca.pem for what is not given.
    #[arg(long, global = true)]
    pub state_dir: Option<PathBuf>,
    /// The tenant.
    #[arg(long, env = "AX_TENANT", global = true)]
    pub tenant: Option<String>,
    /// Print the API's JSON answer as it came (`{}` for an empty answer).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tenants (`list`, `create T`; `--tenant` is not needed).
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Tenant-wide secrets and config overrides.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Flow configs.
    #[command(subcommand)]
    Configs(NamedCommand),
    /// Environments.
    #[command(subcommand)]
    Envs(NamedCommand),
    /// The tenant's audit: access events and management actions.
    Audit(AuditArgs),
    /// API tokens (owner only).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Prints a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `ax secrets ...`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Saves a secret; its value from stdin, --value-file or a masked prompt.
    Set(SetArgs),
    /// Rotates an existing secret: a new value and why (`set --replace --reason`).
    Rotate(RotateArgs),
    /// Names and metadata of every secret.
    List,
    /// One secret's metadata (never its value).
    Get {
        /// The secret's name.
        name: String,
    },
    /// One secret's versions: when, by whom, why.
    History {
        /// The secret's name.
        name: String,
    },
    /// Deletes a secret at once (its history too).
    Delete {
        /// The secret's name.
        name: String,
    },
}

/// `ax secrets set`.
#[derive(Debug, Clone, Args)]
pub struct SetArgs {
    /// The secret's name.
    pub name: String,
    /// Read the value from this file (all of it, one trailing newline removed).
    #[arg(long)]
    pub value_file: Option<PathBuf>,
    /// A description (not secret).
    #[arg(long)]
    pub description: Option<String>,
    /// Metadata: a JSON object of strings (not secret).
    #[arg(long)]
    pub metadata: Option<String>,
    /// Save it as an override of this flow config instead of tenant-wide.
    #[arg(long)]
    pub config: Option<String>,
    /// Confirm replacing an existing secret (a rotation).
    #[arg(long)]
    pub replace: bool,
    /// A rotation reminder in days (0 removes it).
    #[arg(long)]
    pub rotation_days: Option<u32>,
    /// Why (kept in the history and the audit).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `ax secrets rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The secret's name.
    pub name: String,
    /// Read the new value from this file (all of it, one trailing newline removed).
    #[arg(long)]
    pub value_file: Option<PathBuf>,
    /// Why (kept in the history and the audit).
    #[arg(long)]
    pub reason: String,
}

impl RotateArgs {
    /// The same as `set NAME --replace --reason R`.
    pub fn as_set(&self) -> SetArgs {
        SetArgs {
            name: self.name.clone(),
            value_file: self.value_file.clone(),
            description: None,
            metadata: None,
            config: None,
            replace: true,
            rotation_days: None,
            reason: Some(self.reason.clone()),
        }
    }
}

/// `ax configs ...` and `ax envs ...`.
#[derive(Debug, Subcommand)]
pub enum NamedCommand {
    /// Lists them.
    List,
    /// Creates one (nothing happens if it exists).
    Create {
        /// Its name.
        name: String,
    },
    /// Deletes one.
    Delete {
        /// Its name.
        name: String,
    },
}

/// `ax audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Events about this secret.
    #[arg(long)]
    pub name: Option<String>,
    /// Events of the last N days.
    #[arg(long)]
    pub days: Option<u32>,
    /// Events with this action (e.g. `secret_rotate`).
    #[arg(long)]
    pub action: Option<String>,
    /// `access` (the default), `management` or `all`.
    #[arg(long)]
    pub kind: Option<String>,
    /// At most N events (1–1000).
    #[arg(long)]
    pub limit: Option<u32>,
}

/// `ax tenants ...`.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Names and creation times.
    List,
    /// Creates a tenant (`409` if it exists).
    Create {
        /// Its name.
        name: String,
    },
}

/// `ax tokens ...`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Names, roles and times (never a token).
    List,
    /// Makes a token; it is printed this once.
    Create {
        /// Its name (the actor in the audit).
        name: String,
        /// `owner`, `manager` or `viewer`.
        #[arg(long)]
        role: String,
    },
    /// Revokes a token at once.
    Revoke {
        /// Its name.
        name: String,
    },
}
