export function Logo() {
  return (
    <span className="flex items-center gap-2 text-base font-semibold tracking-tight text-slate-900">
      <svg aria-hidden="true" viewBox="0 0 24 24" className="h-6 w-6 text-brand-600" fill="none" stroke="currentColor" strokeWidth="2">
        <rect x="3" y="5" width="18" height="14" rx="2" />
        <path d="m3 7 9 6 9-6" />
      </svg>
      Mailroom
    </span>
  );
}
