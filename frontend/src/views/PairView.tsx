import { useId, useState, type FormEvent } from "react";
import { config, url } from "../api";
import { Feedback } from "../components/Feedback";
import { useNow } from "../hooks";
import { codeProblem, defaultDeviceName, displayCode, normaliseCode, pairDevice, waitText } from "../pairing";
import "./pairing.css";

/**
 * /pair: the page a pairing QR opens (`/pair?code=…`), and where a code is typed by hand — the
 * installed iOS home-screen app keeps its own cookies, so it must pair from inside itself.
 * On success the app is reloaded at "/" so the server renders it with this device's CSRF token.
 */
export function PairView({ code: fromLink }: { code: string | null }) {
  const [code, setCode] = useState(() => normaliseCode(fromLink ?? ""));
  const [name, setName] = useState(() => defaultDeviceName(navigator.userAgent, navigator.maxTouchPoints));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [paired, setPaired] = useState<string | null>(null);
  const [blockedUntil, setBlockedUntil] = useState(0);
  const [touched, setTouched] = useState(false);
  const now = useNow(1000);
  const ids = { code: useId(), codeHint: useId(), name: useId() };
  const problem = codeProblem(code);
  const waitS = Math.ceil((blockedUntil - now) / 1000);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (problem || busy || waitS > 0) return;
    setBusy(true);
    setError(null);
    const outcome = await pairDevice(code, name.trim());
    if (outcome.ok) {
      setPaired(outcome.device.name);
      location.replace(url("/"));
      return;
    }
    setBusy(false);
    setError(outcome.error);
    if (outcome.retryAfterS) setBlockedUntil(Date.now() + outcome.retryAfterS * 1000);
  }

  if (paired)
    return (
      <section aria-labelledby="pair-h" className="pair">
        <h1 id="pair-h">Paired</h1>
        <p role="status">This device is paired as “{paired}”. Opening Observatory…</p>
      </section>
    );

  return (
    <section aria-labelledby="pair-h" className="pair">
      <h1 id="pair-h">Pair this device</h1>
      <p className="muted">
        Pairing lets this device see your agents and answer them. Run <code>observatory pair</code> on
        the computer running Observatory (or use Settings → Devices there) for a code; it works once, for 10 minutes.
      </p>
      {config.csrfToken && <p className="note">This browser is already paired. Pairing again adds it as a new device.</p>}
      <form className="pair-form" onSubmit={(e) => void submit(e)} noValidate>
        <label htmlFor={ids.code}>Pairing code</label>
        <input
          id={ids.code}
          className="pair-code"
          value={displayCode(code)}
          onChange={(e) => setCode(normaliseCode(e.target.value))}
          onBlur={() => setTouched(true)}
          autoComplete="one-time-code"
          autoCapitalize="characters"
          autoCorrect="off"
          spellCheck={false}
          placeholder="ABCD-EFGH"
          aria-describedby={ids.codeHint}
          aria-invalid={touched && problem !== null}
        />
        <p id={ids.codeHint} className={touched && problem ? "pair-hint error" : "pair-hint muted"}>
          {touched && problem ? problem : "8 letters and digits, as shown on the computer (e.g. ABCD-EFGH)."}
        </p>
        <label htmlFor={ids.name}>Name of this device</label>
        <input
          id={ids.name}
          value={name}
          maxLength={64}
          autoComplete="off"
          onChange={(e) => setName(e.target.value)}
        />
        <p className="pair-hint muted">Shown in Settings → Devices, where it can be revoked.</p>
        <button type="submit" className="primary" disabled={busy || waitS > 0}>
          {busy ? "Pairing…" : waitS > 0 ? `Try again in ${waitText(waitS)}` : "Pair this device"}
        </button>
      </form>
      <Feedback error={error} />
    </section>
  );
}
