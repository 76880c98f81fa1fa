#ifndef QUANTFARM_STORAGE_ATOMIC_FILE_H_
#define QUANTFARM_STORAGE_ATOMIC_FILE_H_

#include <functional>
#include <string>

namespace qf {

// Replaces `path` atomically: `write(temp)` creates the file `temp` (beside `path`,
// same directory); it is then fsynced, renamed over `path` (a symlink's target is
// replaced, the link kept) and the directory fsynced. A crash leaves either the old
// or the new file, never a torn one. If `write` or any step throws, the temp file is
// removed, `path` is untouched and the exception propagates (StoreError for I/O).
void WriteFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temp)>& write);

// fsync of a file or directory; throws StoreError naming it.
void FsyncPath(const std::string& path, bool directory);

}  // namespace qf

#endif  // QUANTFARM_STORAGE_ATOMIC_FILE_H_
