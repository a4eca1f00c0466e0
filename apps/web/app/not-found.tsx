import { NotFoundMessage } from '@/components/not-found-message';

export default function NotFound() {
  return (
    <main id="main" className="flex min-h-[60dvh] items-center justify-center px-4 py-16">
      <NotFoundMessage />
    </main>
  );
}
