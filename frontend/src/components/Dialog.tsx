import { useEffect, useId, useRef, type ReactNode } from "react";

/** Native modal <dialog>: focus is trapped and Escape closes it without extra code. */
export function Dialog(props: { open: boolean; title: string; onClose: () => void; children: ReactNode; actions?: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={id} onClose={props.onClose} className="dialog">
      <h2 id={id}>{props.title}</h2>
      <div className="dialog-body">{props.children}</div>
      <div className="dialog-actions">
        {props.actions}
        <button type="button" onClick={props.onClose}>
          {props.actions ? "Cancel" : "Close"}
        </button>
      </div>
    </dialog>
  );
}
