import Link from 'next/link';
import { buttonClass } from '@/components/ui';

/** The 404 body shared by the signed-in area and the top-level not-found page. */
export function NotFoundMessage() {
  return (
    <div className="max-w-md text-center">
      <p className="text-sm font-semibold text-brand-700">404</p>
      <h1 className="mt-2 text-2xl font-semibold tracking-tight text-slate-900">Page not found</h1>
      <p className="mt-2 text-sm text-slate-600">It does not exist, it was deleted, or your account has no access to it.</p>
      <Link href="/" className={buttonClass('primary') + ' mt-6'}>
        Back to your dashboard
      </Link>
    </div>
  );
}
