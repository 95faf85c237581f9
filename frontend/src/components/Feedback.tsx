/** The outcome line under a form or action: a polite status and, when something failed, an alert. */
export function Feedback({ message, error }: { message?: string | null; error: string | null }) {
  return (
    <>
      {message !== undefined && (
        <p role="status" className="muted">
          {message}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </>
  );
}
