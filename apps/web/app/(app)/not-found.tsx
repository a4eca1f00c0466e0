import { NotFoundMessage } from '@/components/not-found-message';

export default function NotFound() {
  return (
    <div className="flex min-h-[50dvh] items-center justify-center py-16">
      <NotFoundMessage />
    </div>
  );
}
