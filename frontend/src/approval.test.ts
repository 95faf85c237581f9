import { describe, expect, it } from "vitest";
import { resolveClickTarget } from "../../service-worker/click";
import { describeCall, outcomeText, timeLeft } from "./views/Approval";

describe("what an approval shows", () => {
  it("shows a Bash call's exact command", () => {
    expect(describeCall("Bash", { command: "rm -f notes.txt", description: "Print hello" })).toEqual([
      { label: "Command", text: "rm -f notes.txt" },
    ]);
  });

  it("shows an edit as its file and a line diff", () => {
    expect(describeCall("Edit", { file_path: "/w/a.py", old_string: "x = 1\ny = 2", new_string: "x = 3" })).toEqual([
      { label: "File", text: "/w/a.py" },
      { label: "Change", text: "- x = 1\n- y = 2\n+ x = 3" },
    ]);
  });

  it("shows every edit of a MultiEdit and a Write's whole content", () => {
    const multi = describeCall("MultiEdit", {
      file_path: "/w/b.ts",
      edits: [
        { old_string: "a", new_string: "b" },
        { old_string: "c", new_string: "d" },
      ],
    });
    expect(multi[1]).toEqual({ label: "Change", text: "- a\n+ b\n\n- c\n+ d" });
    expect(describeCall("Write", { file_path: "/w/new.txt", content: "hello\n" })[1]).toEqual({
      label: "New content",
      text: "hello\n",
    });
  });

  it("falls back to the full input of any other tool", () => {
    expect(describeCall("WebFetch", { url: "https://example.com", prompt: "read" })).toEqual([
      { label: "WebFetch input", text: '{\n  "url": "https://example.com",\n  "prompt": "read"\n}' },
    ]);
  });

  it("says what happened, with who decided and the message told to the agent", () => {
    expect(outcomeText({ status: "allowed", decided_by: "device:phone", message: null })).toBe(
      "Approved: the agent goes ahead. (by device:phone)",
    );
    expect(outcomeText({ status: "denied", decided_by: "token", message: "use a branch" })).toContain(
      "Message: “use a branch”",
    );
    expect(outcomeText({ status: "timed_out", decided_by: null, message: null })).toContain("back to the terminal");
    expect(outcomeText({ status: "weird", decided_by: null, message: null })).toBe("Status: weird");
  });

  it("counts down to the terminal fallback", () => {
    const now = Date.parse("2026-11-23T10:00:00Z");
    expect(timeLeft("2026-11-23T10:03:05Z", now)).toBe("3:05");
    expect(timeLeft("2026-11-23T10:00:00.500Z", now)).toBe("0:00");
    expect(timeLeft("2026-11-23T09:59:59Z", now)).toBeNull();
    expect(timeLeft("not a date", now)).toBeNull();
  });
});

describe("an approval notification", () => {
  it("only opens the session's page, whatever button was pressed: never an approval by itself", () => {
    const data = { url: "/s/abc", session_id: "abc" };
    for (const action of ["", "open", "approve", "allow", "deny"])
      expect(resolveClickTarget(data, action, "https://obs.example/")).toBe("https://obs.example/s/abc");
  });
});
