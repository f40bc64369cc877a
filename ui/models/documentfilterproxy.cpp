#include "ui/models/documentfilterproxy.h"

#include "ui/models/documenttreemodel.h"

namespace deltascope::ui {

DocumentFilterProxy::DocumentFilterProxy(QObject* parent)
    : QSortFilterProxyModel(parent)
{
    setRecursiveFilteringEnabled(true);
    setDynamicSortFilter(true);
}

void DocumentFilterProxy::setSearchText(const QString& text)
{
    if (text == m_text)
        return;
    m_text = text;
    invalidateFilter();
}

bool DocumentFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const
{
    if (m_text.isEmpty())
        return true;
    const QAbstractItemModel* source = sourceModel();
    for (const int column : { int(DocumentTreeModel::KeyColumn), int(DocumentTreeModel::ValueColumn) }) {
        const QModelIndex index = source->index(sourceRow, column, sourceParent);
        if (index.data(Qt::DisplayRole).toString().contains(m_text, Qt::CaseInsensitive))
            return true;
    }
    return false;
}

}
