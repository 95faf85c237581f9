import type { ReactNode } from "react";
import { config } from "../api";
import { onLinkClick } from "../router";

export function Link(props: { to: string; className?: string; current?: boolean; children: ReactNode; label?: string }) {
  return (
    <a
      href={config.basePath + props.to}
      className={props.className}
      aria-current={props.current ? "page" : undefined}
      aria-label={props.label}
      onClick={onLinkClick(props.to)}
    >
      {props.children}
    </a>
  );
}
