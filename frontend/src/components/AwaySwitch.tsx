import { useEffect, useState } from "react";
import { api, errorText } from "../api";
import "../views/approval.css";

interface AwayState {
  enabled: boolean;
  wait_s: number;
  pending: number;
}

/** Away mode on/off (PUT /api/away, a control action): when on, permission prompts wait for the phone. */
export function AwaySwitch() {
  const [state, setState] = useState<AwayState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<AwayState>("GET", "/api/away").then(setState, (e) => setError(errorText(e)));
  }, []);

  async function toggle(enabled: boolean) {
    setBusy(true);
    setError(null);
    try {
      setState(await api<AwayState>("PUT", "/api/away", { enabled }));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="away-switch">
      {state && (
        <label className="switch">
          <input type="checkbox" checked={state.enabled} disabled={busy} onChange={(e) => void toggle(e.target.checked)} />
          Away mode: approve or deny agents' permission prompts from here
        </label>
      )}
      {state && (
        <p className="note">
          {state.enabled
            ? `On: a prompt waits up to ${Math.round(state.wait_s)} s for your answer, then goes back to the terminal. ` +
              "The prompt stays on the terminal too; whichever answers first wins."
            : "Off: agents ask at the terminal only."}
          {state.pending > 0 ? ` ${state.pending} waiting now.` : ""}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </div>
  );
}
