/** A WritableStream that keeps what is written, for outputs small enough to download from memory. */
export function collectingStream(): { stream: WritableStream<Uint8Array>; blob: (type?: string) => Blob } {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      // copied: a writer may reuse its buffer after the write resolves
      chunks.push(new Uint8Array(chunk));
    },
  });
  return { stream, blob: (type = "application/octet-stream") => new Blob(chunks, { type }) };
}
