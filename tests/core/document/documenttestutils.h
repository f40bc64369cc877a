#pragma once

#include "core/document/documenttree.h"

#include <QJsonArray>
#include <QJsonValue>

namespace deltascope::test {

// A vector of ../shared/protocol/delta-vectors.json.
struct DeltaVector {
    QString name;
    QList<QByteArray> deltas; // compact JSON of each `data`
    QJsonValue expected;
    QJsonValue referenceClient; // Undefined when the vector has none
};
QList<DeltaVector> loadDeltaVectors();

// Structural JSON equality as protocol/README.md asks: key order ignored, numbers by value.
bool sameJson(const QJsonValue& a, const QJsonValue& b);
QJsonValue parseJson(const QByteArray& json);

// Checks the tree's bookkeeping against its visible structure: rows, parents, child counts, paths.
// Returns an empty string when consistent, else what is wrong.
QString checkTreeInvariants(const DocumentTree& tree);

}
