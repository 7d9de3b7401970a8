// Placeholder until the native addon lands (issue 4): reports that it is not built.
export function loadNativeBackend(): void {
  throw new Error("native addon not built (native/ is being written)");
}
