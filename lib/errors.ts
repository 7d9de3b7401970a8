// Errors the user can fix (a bad option, environment variable or file). The CLIs print their message as one
// line without a stack trace (lib/cli.ts runCli), so the message must say what is wrong (the option, variable
// or file) and how to fix it. Any other error is a bug and keeps its stack.
export class UserError extends Error {
  override name = "UserError";
}
