export function Salary({ range }: { range: { min?: number | null; max?: number | null; currency: string } | null | undefined }) {
  if (!range || (range.min == null && range.max == null)) return <span>salary not given</span>;
  const format = (amount: number) =>
    new Intl.NumberFormat("en", { style: "currency", currency: range.currency, maximumFractionDigits: 0 }).format(amount);
  if (range.min != null && range.max != null) return <span>{`${format(range.min)}–${format(range.max)}`}</span>;
  return <span>{range.min != null ? `from ${format(range.min)}` : `up to ${format(range.max!)}`}</span>;
}
