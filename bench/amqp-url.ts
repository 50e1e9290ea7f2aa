/** rabbit://u:p@h:port/vhost?… → amqp://u:p@h:port/vhost (first host, no query), for raw amqplib. */
export function toAmqpUrl(url: string): string {
  const [, rest] = url.split('?')[0]!.split('://') as [string, string];
  const host = rest.split(',')[0]!.split('/')[0]!;
  const vhost = rest.includes('/') ? rest.slice(rest.indexOf('/') + 1) : '';
  return `amqp://${host}/${vhost}`;
}
