#pragma once

#include <QStringList>

#include <vector>

namespace deltascope::ui {

// Which lines differ between two texts, as `diff` marks them: the shortest edit script (Myers)
// between the lines left after the common head and tail. For the Before / after view, where a
// delta changes a few lines of a long pretty-printed document.
struct LineDiff {
    std::vector<int> removed; // lines of `before` (0-based, ascending) not in the common subsequence
    std::vector<int> added; // lines of `after` (0-based, ascending) not in it
    // False when the texts differ by more than the edit budget: then every line between the common
    // head and tail is marked, a coarser answer that stays correct (nothing unchanged outside it).
    bool minimal = true;
};

// `maxEdits` bounds the work (about (lines) x (edits)) and the memory (edits squared).
LineDiff diffLines(const QStringList& before, const QStringList& after, int maxEdits = 1000);

}
