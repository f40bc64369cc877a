// main() of a fuzz target outside libFuzzer: runs LLVMFuzzerTestOneInput on every file named on
// the command line (folders: every file in them, sorted), so the corpus is a regression test.
#include "fuzzcheck.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QStringList>

#include <algorithm>

int main(int argc, char** argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    QStringList files;
    for (int i = 1; i < argc; ++i) {
        const QString path = QString::fromLocal8Bit(argv[i]);
        const QFileInfo info(path);
        if (info.isDir()) {
            QDirIterator it(path, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
            QStringList found;
            while (it.hasNext())
                found << it.next();
            std::sort(found.begin(), found.end());
            files << found;
        } else if (info.isFile()) {
            files << path;
        } else {
            std::fprintf(stderr, "%s: no such file or folder\n", argv[i]);
            return 2;
        }
    }
    if (files.isEmpty()) {
        std::fprintf(stderr, "usage: %s CORPUS_FILE_OR_FOLDER...\n(no input files found)\n", argv[0]);
        return 2;
    }
    for (const QString& path : files) {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "%s: %s\n", qPrintable(path), qPrintable(file.errorString()));
            return 2;
        }
        const QByteArray input = file.readAll();
        std::fprintf(stderr, "%s (%lld bytes)\n", qPrintable(path), static_cast<long long>(input.size()));
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.constData()), std::size_t(input.size()));
    }
    std::fprintf(stderr, "%lld input(s) replayed, every property held\n", static_cast<long long>(files.size()));
    return 0;
}
