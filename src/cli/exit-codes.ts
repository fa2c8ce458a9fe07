// The exit codes of every `tunnus` command, documented in docs/cli.md. Scripts branch on them, so
// each means one thing everywhere.
export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** The command ran and failed: not found, refused, invalid file content, a server error. */
  Failure: 1,
  /** The command line is wrong: unknown option, missing or extra argument, bad value, unreadable file. */
  Usage: 2,
  /** The run the command started stopped for approval (`tunnus approve <workflowId>`). */
  AwaitingApproval: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
