#pragma once

#include <QJsonObject>

namespace deltascope {

// RFC 7386 merge patch, as adama-wire.md 6.1 merges objects: a null removes the key, an object
// merges into an object, anything else replaces. Used for viewer states, which both sides merge.
inline void mergeJsonPatch(QJsonObject& target, const QJsonObject& patch)
{
    for (auto it = patch.begin(); it != patch.end(); ++it) {
        if (it->isNull()) {
            target.remove(it.key());
        } else if (it->isObject()) {
            QJsonObject child = target.value(it.key()).toObject();
            mergeJsonPatch(child, it->toObject());
            target.insert(it.key(), child);
        } else {
            target.insert(it.key(), *it);
        }
    }
}

}
