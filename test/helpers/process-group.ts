// The processes of a process group, from /proc (Linux): what the fault tests use to find a builder's or a
// queue worker's job processes and to wait until every one of them has ended.
import * as fs from "node:fs";

/** The live (not zombie) processes of process group `pgid`, with their command lines, from /proc. */
export function groupMembers(pgid: number): { pid: number; args: string[] }[] {
  const members: { pid: number; args: string[] }[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string, cmdline: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // After the command name in parentheses: state, parent pid, process group.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") members.push({ pid: Number(entry), args: cmdline.replace(/\0$/, "").split("\0") });
  }
  return members;
}

/** Waits until every process of group `pgid` has ended: orphaned workers must not write while files are checked. */
export async function groupGone(pgid: number): Promise<void> {
  while (groupMembers(pgid).length > 0) await new Promise((r) => setTimeout(r, 50));
}
