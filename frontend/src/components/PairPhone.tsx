import { useState } from "react";
import { ApiError, api, errorText } from "../api";
import { useNow } from "../hooks";
import { Feedback } from "./Feedback";
import { qrImageUrl } from "../pairing";
import { timeLeft } from "../views/Approval";

/** POST /api/pairing-codes: a one-time code, its link and QR (null without a public URL). */
interface PairingCode {
  code: string;
  expires_at: string;
  url: string | null;
  qr_svg: string | null;
}

const REFUSED: Record<number, string> = {
  401: "Only a paired device or the computer running Observatory can make pairing codes: run `observatory pair` there.",
  403: "This browser may not make pairing codes (reload the page; if it stays, run `observatory pair` on the computer).",
};

/** "Pair a phone": shows a fresh code as a QR and as text, with its countdown; `onDone` when closed. */
export function PairPhone({ onDone }: { onDone: () => void }) {
  const [made, setMade] = useState<PairingCode | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(1000);

  async function make() {
    setBusy(true);
    setError(null);
    try {
      setMade(await api<PairingCode>("POST", "/api/pairing-codes"));
    } catch (e) {
      setError(e instanceof ApiError && REFUSED[e.status] ? REFUSED[e.status] : errorText(e));
    } finally {
      setBusy(false);
    }
  }

  function close() {
    setMade(null);
    onDone();
  }

  const left = made ? timeLeft(made.expires_at, now) : null;
  return (
    <>
      {made && (
        <div className="pairing-code" role="group" aria-label="Pairing code">
          {left && made.qr_svg && made.url && (
            <img src={qrImageUrl(made.qr_svg)} alt={`QR code that opens ${made.url}`} />
          )}
          <p className="pairing-code-text" aria-label={`Code ${made.code.split("").join(" ")}`}>
            {made.code}
          </p>
          {left ? (
            <p>
              Scan it with the phone's camera, or type the code on the phone's pairing page
              {made.url ? "" : " (open /pair on the address the phone uses)"}. It works once and expires in {left}.
            </p>
          ) : (
            <p role="alert">This code has expired. Make a new one.</p>
          )}
          {!made.url && (
            <p className="muted">
              No public address is known yet, so there is no QR code: start <code>observatory tunnel</code> or set{" "}
              <code>[remote] public_url</code>.
            </p>
          )}
          <button type="button" onClick={close}>
            Done
          </button>
        </div>
      )}
      <div className="button-row">
        <button type="button" className="primary" disabled={busy} onClick={() => void make()}>
          {made ? "Make a new code" : "Pair a phone"}
        </button>
      </div>
      <Feedback error={error} />
    </>
  );
}
