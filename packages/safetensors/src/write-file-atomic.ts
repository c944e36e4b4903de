import type { FileHandle } from "node:fs/promises";
import { nodeCrypto, nodeFsPromises, nodePath } from "./node-builtins";

/**
 * A file being written under a temporary name in the target's directory. `commit()` flushes it
 * to disk (fsync) and renames it over the target in one step; `abort()` deletes it. Until
 * `commit()` returns, the target keeps its old content (or stays absent).
 */
export class AtomicFile {
  private done = false;

  private constructor(
    /** The final path. */
    readonly path: string,
    /** The temporary path being written. */
    readonly tempPath: string,
    /** Handle on the temporary file, open for writing. */
    readonly handle: FileHandle,
  ) {}

  /** Creates the temporary file next to `path` (same directory, so the rename is atomic). */
  static async create(path: string): Promise<AtomicFile> {
    const tempPath = nodePath().join(
      nodePath().dirname(path),
      `.${nodePath().basename(path)}.${process.pid}.${nodeCrypto().randomBytes(6).toString("hex")}.tmp`,
    );
    const handle = await nodeFsPromises().open(tempPath, "wx");
    return new AtomicFile(path, tempPath, handle);
  }

  /** Writes all of `data` at `position`, looping over short writes. */
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`write to ${this.tempPath} made no progress`);
      done += bytesWritten;
    }
  }

  /** fsyncs the data, closes the file and renames it over the target. */
  async commit(): Promise<void> {
    if (this.done) throw new Error(`${this.path}: atomic write already finished`);
    this.done = true;
    try {
      await this.handle.sync();
      await this.handle.close();
      await nodeFsPromises().rename(this.tempPath, this.path);
    } catch (error) {
      await this.handle.close().catch(() => undefined);
      await nodeFsPromises()
        .rm(this.tempPath, { force: true })
        .catch(() => undefined);
      throw error;
    }
    await syncDirectory(nodePath().dirname(this.path));
  }

  /** Closes and deletes the temporary file; the target is left untouched. Safe to call twice. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.close().catch(() => undefined);
    await nodeFsPromises()
      .rm(this.tempPath, { force: true })
      .catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable where the platform allows it (not on Windows).
  let handle: FileHandle | undefined;
  try {
    handle = await nodeFsPromises().open(dir, "r");
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Writes `data` to `path` atomically: into a temporary file in the same directory, fsynced,
 * then renamed over `path`. A failure at any point removes the temporary file and leaves any
 * previous `path` intact; a partial file is never visible under `path`.
 *
 * @throws the underlying Node.js error (with its `code`, e.g. `ENOENT` for a missing directory).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = await AtomicFile.create(path);
  try {
    await file.writeAt(bytes, 0);
  } catch (error) {
    await file.abort();
    throw error;
  }
  await file.commit();
}
